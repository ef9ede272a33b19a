#!/usr/bin/env node
// The approve service as PM2 runs it (`syft-bg run-foreground -s approve` runs the same code in a terminal).
import { runMain } from '../../lib/service/runtime';
import { approveService } from './service';

runMain(approveService);
