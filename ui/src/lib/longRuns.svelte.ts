// Long actions (a verified reboot, a cloud power action) under way or finished in this window,
// by target. Kept outside the screens so an action keeps its progress, Cancel button and
// outcome while the person looks elsewhere; a notification says how it ended when the window
// is in the background.
import * as api from './api';
import type { ErrorInfo } from './bindings/ErrorInfo';
import { notifyIfUnfocused } from './notify';

/** One action's state; `P` is its progress (with the core's action id once known), `R` its result. */
export interface LongRun<P, R> {
  running: boolean;
  progress: P;
  outcome: { ok: R } | { err: ErrorInfo } | null;
  startedAt: number;
  /** When it ended (Date.now()), null while running. */
  finishedAt: number | null;
  cancelling: boolean;
  cancelError: ErrorInfo | null;
}

/** What the notifications say: `[title, body]` of a success, and the title of a failure. */
export interface RunNotice<R> {
  done: (result: R) => [string, string];
  failed: string;
}

export class LongRuns<P extends { actionId: number | null }, R, X extends object = object> {
  runs = $state<Record<string, LongRun<P, R> & X>>({});

  constructor(private readonly initialProgress: () => P) {}

  /**
   * Runs `act` as the action on `key` (the caller has asked for the confirmation), unless one
   * runs there already; `act` records its progress in the run it is given.
   */
  async start(key: string, extra: X, notice: RunNotice<R>, act: (run: LongRun<P, R>) => Promise<R>): Promise<void> {
    if (this.runs[key]?.running) return;
    this.runs[key] = {
      ...extra,
      running: true,
      progress: this.initialProgress(),
      outcome: null,
      startedAt: Date.now(),
      finishedAt: null,
      cancelling: false,
      cancelError: null,
    };
    const run = this.runs[key];
    try {
      const result = await act(run);
      run.outcome = { ok: result };
      void notifyIfUnfocused(...notice.done(result));
    } catch (e) {
      const err = api.toErrorInfo(e);
      run.outcome = { err };
      void notifyIfUnfocused(notice.failed, `${err.code}: ${err.message}`);
    } finally {
      run.running = false;
      run.finishedAt = Date.now();
    }
  }

  /** Asks the core to stop waiting (the action id comes with the progress). */
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
