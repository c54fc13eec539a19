// Power actions on cloud servers, by server key (see longRuns.svelte.ts).
import * as api from './api';
import type { Confirmation } from './bindings/Confirmation';
import type { PowerAction } from './bindings/PowerAction';
import type { PowerOutcome } from './bindings/PowerOutcome';
import type { Server } from './bindings/Server';
import { formatDuration } from './format';
import { LongRuns } from './longRuns.svelte';
import { ACTION_LABELS, applyServerProgress, initialPowerProgress, serverKey, serverLabel, type PowerProgress } from './servers';

class PowerRuns extends LongRuns<PowerProgress, PowerOutcome, { action: PowerAction }> {
  constructor() {
    super(initialPowerProgress);
  }

  /** Starts `action` on `server` (the caller has asked for the confirmation). */
  power(server: Server, action: PowerAction, confirmation: Confirmation): Promise<void> {
    const what = `${serverLabel(server)}: ${ACTION_LABELS[action].toLowerCase()}`;
    const notice = {
      done: (o: PowerOutcome): [string, string] => [`${what} done`, `${o.server.raw_state} after ${formatDuration(o.elapsed_ms)}`],
      failed: `${what} failed`,
    };
    return this.start(serverKey(server), { action }, notice, (run) =>
      api.serverPower(server.account, server.id, action, confirmation, (p) => {
        run.progress = applyServerProgress(run.progress, p);
      }),
    );
  }
}

export const powerRuns = new PowerRuns();
