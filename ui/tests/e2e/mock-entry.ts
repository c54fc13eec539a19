// Test-only: installed in the page before the app loads (Playwright addInitScript), it answers
// the app's Tauri commands from the scenario in window.__PAAF_SCENARIO__ through
// @tauri-apps/api/mocks, streams reboot progress over the real Channel callback path, records
// every call in window.__paafMock and stubs notifications. Never part of the production bundle.
import type { Channel } from '@tauri-apps/api/core';
import { mockIPC, mockWindows } from '@tauri-apps/api/mocks';
import type { ErrorInfo } from '../../src/lib/bindings/ErrorInfo';
import type { HostInput } from '../../src/lib/bindings/HostInput';
import type { ProgressEvent } from '../../src/lib/bindings/ProgressEvent';
import { defaultScenario, type MockState, type Scenario } from './scenario';

interface TauriInternals {
  runCallback: (id: number, data: unknown) => void;
}

const scenario: Scenario = { ...defaultScenario(), ...(window.__PAAF_SCENARIO__ ?? {}) };
const state: MockState = { calls: [], notifications: [] };
window.__paafMock = state;

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));
let cancelled: (() => void) | null = null;

/** Sends on a channel the way Tauri's IPC does: `{index, message}`, then `{index, end}`. */
function channelSender(channel: Channel<ProgressEvent>) {
  const internals = (window as unknown as { __TAURI_INTERNALS__: TauriInternals }).__TAURI_INTERNALS__;
  let index = 0;
  return {
    send: (message: ProgressEvent) => internals.runCallback(channel.id, { index: index++, message }),
    end: () => internals.runCallback(channel.id, { index, end: true }),
  };
}

async function reboot(args: Record<string, unknown>) {
  const { actionId, intervalMs, events, waitForCancel, outcome } = scenario.reboot;
  const channel = channelSender(args.onEvent as Channel<ProgressEvent>);
  let wasCancelled = false;
  cancelled = () => (wasCancelled = true);
  const cancelledError: ErrorInfo = {
    code: 'cancelled',
    message: `cancelled: reboot of ${String(args.name)} (it may still be under way: check the host)`,
  };
  try {
    for (const e of events) {
      await sleep(intervalMs);
      if (wasCancelled) throw cancelledError;
      channel.send({ action_id: actionId, ...e } as ProgressEvent);
    }
    if (waitForCancel) {
      while (!wasCancelled) await sleep(20);
      throw cancelledError;
    }
    await sleep(intervalMs);
    if ('err' in outcome) throw outcome.err;
    return outcome.ok;
  } finally {
    channel.end();
    cancelled = null;
  }
}

mockWindows('main');
mockIPC(async (cmd, payload) => {
  const args = (payload ?? {}) as Record<string, unknown>;
  state.calls.push({ cmd, args: JSON.parse(JSON.stringify(args)) });
  const failing = scenario.failing[cmd];
  if (failing) throw failing;
  switch (cmd) {
    case 'first_paint':
      return 123;
    case 'about':
      return scenario.about;
    case 'list_hosts':
      return scenario.hosts.map(({ name, address, port, user }) => ({ name, address, port, user, auth: 'key' }));
    case 'host_status': {
      const names = args.names as string[];
      if (names.length === 0) return scenario.hosts;
      return names.map((n) => {
        const h = scenario.hosts.find((x) => x.name === n);
        if (!h) throw { code: 'not-found', message: `no host named \`${n}\`` } satisfies ErrorInfo;
        return h;
      });
    }
    case 'add_host': {
      const input = args.input as HostInput;
      scenario.hosts.push({
        name: input.name,
        address: input.address,
        port: input.port,
        user: input.user,
        reachable: true,
        error: null,
        uptime_secs: 600,
        boot_id: '0b9d6c3e-2f17-4f9b-8e55-a84e0d1327c6',
        os: 'Debian GNU/Linux 12 (bookworm)',
        last_action: null,
      });
      return null;
    }
    case 'remove_host':
      scenario.hosts = scenario.hosts.filter((h) => h.name !== args.name);
      return null;
    case 'probe_host_key':
      return scenario.probe;
    case 'trust_host_key':
    case 'forget_host_key':
      return cmd === 'forget_host_key' ? 1 : null;
    case 'reboot':
      return reboot(args);
    case 'cancel_action':
      if (cancelled && args.actionId === scenario.reboot.actionId) {
        cancelled();
        return true;
      }
      return false;
    case 'exec':
      return scenario.execOutput;
    case 'runbooks':
      return scenario.runbooks[args.name as string] ?? [];
    case 'run_runbook':
      return scenario.runbookOutput;
    case 'journal': {
      const target = args.target as string | null;
      const rows = target ? scenario.journal.filter((r) => r.target === target) : scenario.journal;
      return rows.slice(0, args.limit as number);
    }
    case 'plugin:notification|is_permission_granted':
      return true;
    default:
      throw { code: 'other', message: `the test mock does not know the command ${cmd}` } satisfies ErrorInfo;
  }
});

// Notifications: record instead of showing; the window's focus is what the scenario says.
class RecordingNotification {
  static permission = 'granted';
  static requestPermission = async () => 'granted';
  constructor(title: string, options?: { body?: string }) {
    state.notifications.push({ title, body: options?.body });
  }
}
Object.defineProperty(window, 'Notification', { value: RecordingNotification, configurable: true, writable: true });
document.hasFocus = () => scenario.hasFocus;

// As Tauri does with `freezePrototype: true` (tauri.conf.json): the app must run with it.
Object.freeze(Object.prototype);
