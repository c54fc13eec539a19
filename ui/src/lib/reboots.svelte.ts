// Verified reboots of SSH hosts, by host name (see longRuns.svelte.ts).
import * as api from './api';
import type { Confirmation } from './bindings/Confirmation';
import type { RebootReport } from './bindings/RebootReport';
import { formatDuration } from './format';
import { LongRuns } from './longRuns.svelte';
import { applyProgressEvent, initialProgress, type RebootProgress } from './progress';

class Reboots extends LongRuns<RebootProgress, RebootReport> {
  constructor() {
    super(initialProgress);
  }

  /** Starts a verified reboot (the caller has asked for the confirmation). */
  reboot(host: string, confirmation: Confirmation): Promise<void> {
    const notice = {
      done: (r: RebootReport): [string, string] => [`${host}: reboot verified`, `verified in ${formatDuration(r.elapsed_ms)}`],
      failed: `${host}: reboot failed`,
    };
    return this.start(host, {}, notice, (run) =>
      api.reboot(host, confirmation, (e) => (run.progress = applyProgressEvent(run.progress, e))),
    );
  }
}

export const reboots = new Reboots();
