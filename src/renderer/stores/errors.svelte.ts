// The last error to show the user (one banner); the code from main is kept for display and tests.
import { ApiError } from '../../shared/ipc';

export interface ShownError {
  code: string;
  message: string;
}

const state = $state<{ error: ShownError | null }>({ error: null });

export function currentError(): ShownError | null {
  return state.error;
}

export function showError(e: unknown): void {
  if (e instanceof ApiError) state.error = { code: e.code, message: e.message };
  else state.error = { code: 'RENDERER', message: e instanceof Error ? e.message : String(e) };
}

export function clearError(): void {
  state.error = null;
}
