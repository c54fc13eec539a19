// Reboots under way or finished in this window, by host. Kept outside the host page so a
// reboot keeps its progress, Cancel button and outcome while the person looks elsewhere.
import * as api from './api';
import type { Confirmation } from './bindings/Confirmation';
import type { ErrorInfo } from './bindings/ErrorInfo';
import type { RebootReport } from './bindings/RebootReport';
import { formatDuration } from './format';
import { notifyIfUnfocused } from './notify';
import { applyProgressEvent, initialProgress, type RebootProgress } from './progress';

export interface RebootRun {
  running: boolean;
  progress: RebootProgress;
  outcome: { ok: RebootReport } | { err: ErrorInfo } | null;
  startedAt: number;
  /** When it ended (Date.now()), null while running. */
  finishedAt: number | null;
  cancelling: boolean;
  cancelError: ErrorInfo | null;
}

class Reboots {
  runs = $state<Record<string, RebootRun>>({});

  /** Starts a verified reboot (the caller has asked for the confirmation). */
  async start(host: string, confirmation: Confirmation): Promise<void> {
    if (this.runs[host]?.running) return;
    this.runs[host] = {
      running: true,
      progress: initialProgress(),
      outcome: null,
      startedAt: Date.now(),
      finishedAt: null,
      cancelling: false,
      cancelError: null,
    };
    const run = this.runs[host];
    try {
      const report = await api.reboot(host, confirmation, (e) => (run.progress = applyProgressEvent(run.progress, e)));
      run.outcome = { ok: report };
      void notifyIfUnfocused(`${host}: reboot verified`, `verified in ${formatDuration(report.elapsed_ms)}`);
    } catch (e) {
      const err = api.toErrorInfo(e);
      run.outcome = { err };
      void notifyIfUnfocused(`${host}: reboot failed`, `${err.code}: ${err.message}`);
    } finally {
      run.running = false;
      run.finishedAt = Date.now();
    }
  }

  /** Asks the core to stop waiting for the host's reboot (its action id is in the events). */
  async cancel(host: string): Promise<void> {
    const run = this.runs[host];
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
}

export const reboots = new Reboots();
