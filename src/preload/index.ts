// Preload (sandboxed, bundled as CommonJS): exposes exactly one object, `window.api`, built from
// the IPC contract. Channels outside the contract are refused here as well as in main. Results
// come back as `{ result } | { error }` envelopes: contextBridge keeps only the message of a thrown
// Error, so the renderer's client (src/renderer/lib/api.ts) rethrows them as ApiError with `code`.
import { contextBridge, ipcRenderer, type IpcRendererEvent } from 'electron';
import { isEventChannel, isInvokeChannel, type BridgeApi, type IpcResult } from '../shared/ipc';

const api: BridgeApi = {
  invoke(channel, request) {
    if (!isInvokeChannel(channel)) {
      return Promise.resolve({ error: { code: 'UNKNOWN_CHANNEL', message: `unknown IPC channel ${String(channel)}` } });
    }
    return ipcRenderer.invoke(channel, request) as Promise<IpcResult<never>>;
  },
  on(event, listener) {
    if (!isEventChannel(event)) throw new Error(`unknown IPC event ${String(event)}`);
    // Hand the page only the payload, never Electron's event object (it exposes `sender`).
    const forward = (_event: IpcRendererEvent, payload: unknown): void => listener(payload as never);
    ipcRenderer.on(event, forward);
    return () => {
      ipcRenderer.removeListener(event, forward);
    };
  },
};

contextBridge.exposeInMainWorld('api', api);
