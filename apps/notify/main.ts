#!/usr/bin/env node
// The notify service as PM2 runs it (`syft-bg run-foreground -s notify` runs the same code in a terminal).
import { runMain } from '../../lib/service/runtime';
import { notifyService } from './service';

runMain(notifyService);
