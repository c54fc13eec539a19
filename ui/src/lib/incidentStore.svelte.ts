// The open incident, shared by the banner (on every screen), the Overview and the Incident
// screen; read again every 20 s and after anything changes it.
import * as api from './api';
import type { ErrorInfo } from './bindings/ErrorInfo';
import type { Incident } from './bindings/Incident';

const EVERY_MS = 20_000;

class IncidentStore {
  /** The newest open incident; null when none is open. */
  open = $state<Incident | null>(null);
  loaded = $state(false);
  error = $state<ErrorInfo | null>(null);
  #timer: ReturnType<typeof setInterval> | null = null;

  async refresh(): Promise<void> {
    try {
      const list = await api.incidents(true, 1);
      this.open = list[0] ?? null;
      this.error = null;
    } catch (e) {
      this.error = api.toErrorInfo(e);
    } finally {
      this.loaded = true;
    }
  }

  /** Reads now, then every 20 s. */
  start(): void {
    void this.refresh();
    this.#timer ??= setInterval(() => void this.refresh(), EVERY_MS);
  }
}

export const incidentStore = new IncidentStore();
