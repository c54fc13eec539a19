// The live status of every host, shared by the screens that show it.
import * as api from './api';
import type { ErrorInfo } from './bindings/ErrorInfo';
import type { HostStatus } from './bindings/HostStatus';

class HostsStore {
  hosts = $state<HostStatus[]>([]);
  /** True once a first answer (hosts or an error) came back. */
  loaded = $state(false);
  loading = $state(false);
  error = $state<ErrorInfo | null>(null);
  updatedAt = $state<Date | null>(null);
  #inflight: Promise<void> | null = null;

  /** Asks every host for its status; concurrent calls share one request. */
  refresh(): Promise<void> {
    if (this.#inflight) return this.#inflight;
    this.loading = true;
    this.#inflight = this.#noneConfigured()
      .then((none) => (none ? [] : api.hostStatus([])))
      .then((hosts) => {
        this.hosts = hosts;
        this.error = null;
        this.updatedAt = new Date();
      })
      .catch((e) => {
        this.error = api.toErrorInfo(e);
      })
      .finally(() => {
        this.loaded = true;
        this.loading = false;
        this.#inflight = null;
      });
    return this.#inflight;
  }

  /** On the first load only: true when the config has no host at all, known without waiting
   * for SSH probes (so first-run onboarding shows at once even when hosts are slow). */
  async #noneConfigured(): Promise<boolean> {
    if (this.loaded) return false;
    try {
      const configured = await api.listHosts();
      return Array.isArray(configured) && configured.length === 0;
    } catch {
      return false;
    }
  }
}

export const hostsStore = new HostsStore();
