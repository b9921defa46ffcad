// One entry point for every invoke: check the channel, validate the request against its schema,
// run the handler and wrap the outcome in the `{ result } | { error }` envelope. Electron's
// ipcMain registration and the browser-test HTTP server both call this, so both see the very same
// validation and error codes. Plain Node: never imports electron.
import { isUserError } from '../../shared/errors';
import { isInvokeChannel, type InvokeChannel, type IpcRequest, type IpcResponse, type IpcResult } from '../../shared/ipc';
import { requestSchemas } from './request-schemas';
import { SchemaError } from './schema';

export type Handlers = { [C in InvokeChannel]: (request: IpcRequest<C>) => Promise<IpcResponse<C>> | IpcResponse<C> };

export type InternalErrorLogger = (channel: string, error: unknown) => void;

const logToStderr: InternalErrorLogger = (channel, error) => {
  console.error(`[ipc] ${channel} failed:`, error);
};

export async function dispatch(
  handlers: Handlers,
  channel: unknown,
  request: unknown,
  logInternal: InternalErrorLogger = logToStderr,
): Promise<IpcResult<unknown>> {
  if (!isInvokeChannel(channel)) {
    return { error: { code: 'UNKNOWN_CHANNEL', message: `unknown IPC channel ${JSON.stringify(String(channel)).slice(0, 120)}` } };
  }
  let valid: unknown;
  try {
    valid = requestSchemas[channel].check(request, 'request');
  } catch (e) {
    if (e instanceof SchemaError) return { error: { code: 'INVALID_REQUEST', message: `${channel}: ${e.message}` } };
    throw e;
  }
  try {
    // The schema map guarantees `valid` is IpcRequest<channel>; TS cannot correlate the two indexes.
    const handler = handlers[channel] as (r: unknown) => unknown;
    return { result: await handler(valid) };
  } catch (e) {
    if (isUserError(e)) return { error: { code: e.code, message: e.message } };
    // An aborted operation (the app is quitting, the user cancelled) is an outcome, not a fault.
    if (e instanceof Error && e.name === 'AbortError') return { error: { code: 'CANCELLED', message: `${channel} was cancelled` } };
    logInternal(channel, e);
    const message = e instanceof Error ? e.message : String(e);
    return { error: { code: 'INTERNAL', message: `${channel} failed unexpectedly: ${message}` } };
  }
}
