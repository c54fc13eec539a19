// Asking a person to confirm a destructive action: one dialog for the whole app
// (rendered by App.svelte), awaited by whoever asks.
import type { Confirmation } from './bindings/Confirmation';

/** Text, or a part to show in bold (e.g. the environment a flag changes in). */
export type BodyPart = string | { strong: string };

export interface ConfirmRequest {
  title: string;
  /** What will happen, in one or two sentences. */
  body: string | BodyPart[];
  confirmLabel: string;
  /** When set, the person must type exactly this (a dangerous action's name). */
  typed?: string;
  danger?: boolean;
}

interface Pending extends ConfirmRequest {
  resolve: (c: Confirmation | null) => void;
}

class ConfirmState {
  current = $state<Pending | null>(null);

  /** Resolves to the confirmation to pass to the core, or null when declined. */
  ask(request: ConfirmRequest): Promise<Confirmation | null> {
    this.current?.resolve(null);
    return new Promise((resolve) => {
      this.current = { ...request, resolve };
    });
  }

  answer(c: Confirmation | null): void {
    const p = this.current;
    this.current = null;
    p?.resolve(c);
  }
}

export const confirmState = new ConfirmState();
export const askConfirmation = (r: ConfirmRequest) => confirmState.ask(r);
