/// <reference types="svelte" />
/// <reference types="vite/client" />
import type { BridgeApi } from '../shared/ipc';

declare global {
  interface Window {
    /** Exposed by the preload (Electron) or by the browser-test shim; see src/shared/ipc.ts. */
    readonly api?: BridgeApi;
  }
}
