// The one thin, typed wrapper over Tauri's `invoke`: one function per command in
// src-tauri/src/commands.rs. Every rejection reaches callers as an `ErrorInfo` ({code, message}).
import { Channel, invoke, type InvokeArgs } from '@tauri-apps/api/core';
import type { About } from './bindings/About';
import type { ActionRecord } from './bindings/ActionRecord';
import type { Confirmation } from './bindings/Confirmation';
import type { ErrorInfo } from './bindings/ErrorInfo';
import type { ExecOutput } from './bindings/ExecOutput';
import type { HostInput } from './bindings/HostInput';
import type { HostStatus } from './bindings/HostStatus';
import type { HostSummary } from './bindings/HostSummary';
import type { OfferedKey } from './bindings/OfferedKey';
import type { ProgressEvent } from './bindings/ProgressEvent';
import type { RebootReport } from './bindings/RebootReport';
import type { Runbook } from './bindings/Runbook';

/** Anything a command rejected with, as `{code, message}` (a bare string or Error becomes `other`). */
export function toErrorInfo(e: unknown): ErrorInfo {
  if (e && typeof e === 'object') {
    const o = e as Record<string, unknown>;
    if (typeof o.code === 'string' && typeof o.message === 'string') {
      const info: ErrorInfo = { code: o.code as ErrorInfo['code'], message: o.message };
      if (typeof o.phase === 'string') info.phase = o.phase as ErrorInfo['phase'];
      return info;
    }
    if (e instanceof Error) return { code: 'other', message: e.message };
  }
  return { code: 'other', message: String(e) };
}

async function call<T>(cmd: string, args?: InvokeArgs): Promise<T> {
  try {
    return await invoke<T>(cmd, args);
  } catch (e) {
    throw toErrorInfo(e);
  }
}

export const about = () => call<About>('about');

/** The configured hosts, from the config alone (no SSH): instant. */
export const listHosts = () => call<HostSummary[]>('list_hosts');

/** Live status of the named hosts; every configured host when `names` is empty. */
export const hostStatus = (names: string[] = []) => call<HostStatus[]>('host_status', { names });

export const addHost = (input: HostInput) => call<null>('add_host', { input });
export const removeHost = (name: string) => call<null>('remove_host', { name });
export const probeHostKey = (name: string) => call<OfferedKey>('probe_host_key', { name });
export const trustHostKey = (name: string, fingerprint: string) =>
  call<null>('trust_host_key', { name, fingerprint });
export const forgetHostKey = (name: string) => call<number>('forget_host_key', { name });

/** A verified reboot; every progress event goes to `onEvent` as it arrives. */
export function reboot(
  name: string,
  confirmation: Confirmation,
  onEvent: (event: ProgressEvent) => void,
): Promise<RebootReport> {
  const channel = new Channel<ProgressEvent>();
  channel.onmessage = onEvent;
  return call<RebootReport>('reboot', { name, confirmation, onEvent: channel });
}

/** Stops waiting for the long action `actionId` (from its progress events); false if none runs. */
export const cancelAction = (actionId: number) => call<boolean>('cancel_action', { actionId });

export const exec = (name: string, command: string, confirmation: Confirmation) =>
  call<ExecOutput>('exec', { name, command, confirmation });

export const runbooks = (name: string) => call<Runbook[]>('runbooks', { name });

export const runRunbook = (name: string, runbook: string, confirmation: Confirmation) =>
  call<ExecOutput>('run_runbook', { name, runbook, confirmation });

/** The newest journal actions, all targets when `target` is null. */
export const journal = (target: string | null = null, limit = 200) =>
  call<ActionRecord[]>('journal', { target, limit });

/** Tells the app the first frame is on screen (a benchmark reads it); result ignored. */
export function firstPaint(): void {
  invoke('first_paint').catch(() => {});
}
