// Registers every invoke channel on Electron's ipcMain. Requests from any frame other than our
// own page (an injected iframe, a page that somehow navigated away) are refused before dispatch.
import type { IpcMain, IpcMainInvokeEvent } from 'electron';
import { INVOKE_CHANNELS, type IpcResult } from '../../shared/ipc';
import { dispatch, type Handlers } from './dispatch';

export function registerIpc(ipcMain: IpcMain, handlers: Handlers, isTrustedUrl: (url: string) => boolean): () => void {
  for (const channel of INVOKE_CHANNELS) {
    ipcMain.handle(channel, (event: IpcMainInvokeEvent, request: unknown): Promise<IpcResult<unknown>> | IpcResult<unknown> => {
      const frame = event.senderFrame;
      if (!frame || frame.parent !== null || !isTrustedUrl(frame.url)) {
        return { error: { code: 'FORBIDDEN', message: `${channel}: request from an untrusted frame (${frame?.url ?? 'gone'})` } };
      }
      return dispatch(handlers, channel, request);
    });
  }
  return () => {
    for (const channel of INVOKE_CHANNELS) ipcMain.removeHandler(channel);
  };
}
