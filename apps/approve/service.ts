import type { ServiceDefinition } from '../../lib/service/runtime';
import { requireIdentity, requireSupportedTransports } from '../../lib/service/requirements';

/**
 * The approve service. This version validates its configuration, watches the job inbox of the local
 * datasite and runs the loop; job evaluation, execution and peer approval plug into `cycle`
 * (issues "approve service" and "SyftBox over Google Drive").
 */
export const approveService: ServiceDefinition = {
  name: 'approve',
  async create({ loaded }) {
    const id = requireIdentity(loaded);
    const c = loaded.config;
    requireSupportedTransports(loaded);
    const a = c.approve;
    const objects = Object.keys(a.auto_approvals.objects ?? {});
    return {
      startInfo: {
        do_email: id.email,
        watching: id.jobInbox,
        syftbox_transport: c.transports.syftbox,
        auto_approvals: a.auto_approvals.enabled ? `${objects.length} object(s)` : 'disabled',
        peer_domains: a.peers.approved_domains,
      },
      intervalMs: a.interval * 1000,
      watch: () => [id.jobInbox],
      async cycle() {
        // Filled by the approve-service issue: evaluate pending jobs, run approved ones.
      },
    };
  },
};
