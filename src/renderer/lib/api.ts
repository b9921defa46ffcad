// The renderer's typed client of the IPC contract. `window.api` (the preload's bridge, or the
// browser-test shim) returns envelopes; here they become results or thrown ApiErrors with `code`.
import {
  unwrapResult,
  type BridgeApi,
  type EventChannel,
  type EventMap,
  type InvokeChannel,
  type IpcRequest,
  type IpcResponse,
} from '../../shared/ipc';

function bridge(): BridgeApi {
  const api = window.api;
  if (!api) throw new Error('window.api is missing: the preload script did not run');
  return api;
}

export async function call<C extends InvokeChannel>(channel: C, request: IpcRequest<C>): Promise<IpcResponse<C>> {
  return unwrapResult(await bridge().invoke(channel, request));
}

/** Subscribes to a main -> renderer event; returns the unsubscribe function. */
export function listen<E extends EventChannel>(event: E, listener: (payload: EventMap[E]) => void): () => void {
  return bridge().on(event, listener);
}
