// Power actions on cloud servers under way or finished in this window, by server. Kept outside
// the screen so an action keeps its progress, Cancel button and outcome while the person looks
// elsewhere (as reboots.svelte.ts does for SSH hosts).
import * as api from './api';
import type { Confirmation } from './bindings/Confirmation';
import type { ErrorInfo } from './bindings/ErrorInfo';
import type { PowerAction } from './bindings/PowerAction';
import type { PowerOutcome } from './bindings/PowerOutcome';
import type { Server } from './bindings/Server';
import { notifyIfUnfocused } from './notify';
import {
  ACTION_LABELS,
  applyServerProgress,
  initialPowerProgress,
  powerResult,
  serverKey,
  serverLabel,
  type PowerProgress,
} from './servers';

export interface PowerRun {
  action: PowerAction;
  running: boolean;
  progress: PowerProgress;
  outcome: { ok: PowerOutcome } | { err: ErrorInfo } | null;
  cancelling: boolean;
  cancelError: ErrorInfo | null;
}

class PowerRuns {
  runs = $state<Record<string, PowerRun>>({});

  /** Starts `action` on `server` (the caller has asked for the confirmation). */
  async start(server: Server, action: PowerAction, confirmation: Confirmation): Promise<void> {
    const key = serverKey(server);
    if (this.runs[key]?.running) return;
    this.runs[key] = {
      action,
      running: true,
      progress: initialPowerProgress(),
      outcome: null,
      cancelling: false,
      cancelError: null,
    };
    const run = this.runs[key];
    const what = `${serverLabel(server)}: ${ACTION_LABELS[action].toLowerCase()}`;
    try {
      const outcome = await api.serverPower(server.account, server.id, action, confirmation, (p) => {
        run.progress = applyServerProgress(run.progress, p);
      });
      run.outcome = { ok: outcome };
      const result = powerResult(outcome);
      void notifyIfUnfocused(`${what} ${result.verified ? 'done' : 'unverified'}`, result.text);
    } catch (e) {
      const err = api.toErrorInfo(e);
      run.outcome = { err };
      void notifyIfUnfocused(`${what} failed`, `${err.code}: ${err.message}`);
    } finally {
      run.running = false;
    }
  }

  /** Asks the core to stop waiting (its action id comes with the first read). */
  async cancel(key: string): Promise<void> {
    const run = this.runs[key];
    if (!run?.running || run.progress.actionId == null) return;
    run.cancelling = true;
    run.cancelError = null;
    try {
      await api.cancelAction(run.progress.actionId);
    } catch (e) {
      run.cancelError = api.toErrorInfo(e);
      run.cancelling = false;
    }
  }

  /** Forgets a finished run (its outcome was read). */
  dismiss(key: string): void {
    if (this.runs[key] && !this.runs[key].running) delete this.runs[key];
  }
}

export const powerRuns = new PowerRuns();
