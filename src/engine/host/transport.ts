// The one place that knows how the engine talks to its parent. The dispatcher sees only
// EngineTransport, so the same engine code runs as a Node `fork` child (process.send /
// process.on('message')) and inside an Electron utilityProcess (process.parentPort, whose
// 'message' events wrap the payload in `{ data }`). Electron is never imported: the
// parentPort is recognised by shape.

export interface EngineTransport {
  send(message: unknown): void;
  /** registers the single receiver of incoming messages */
  onMessage(receive: (message: unknown) => void): void;
  /** called when the parent goes away (its end of the channel closed) */
  onParentGone(handle: () => void): void;
  /** lets the process exit once nothing else keeps it alive */
  close(): void;
}

/** The slice of Electron's `process.parentPort` (a MessagePortMain) that the engine uses. */
export interface ParentPortLike {
  on(event: 'message', listener: (event: { data: unknown }) => void): unknown;
  postMessage(message: unknown): void;
  off?(event: 'message', listener: (event: { data: unknown }) => void): unknown;
}

export function nodeIpcTransport(proc: NodeJS.Process = process): EngineTransport {
  if (typeof proc.send !== 'function') {
    throw new Error('the engine must be started with an IPC channel (child_process.fork or an Electron utilityProcess)');
  }
  return {
    send(message) {
      // a parent that already disconnected cannot be told anything; the 'disconnect' handler ends us
      if (proc.connected) proc.send!(message);
    },
    onMessage(receive) {
      proc.on('message', receive);
    },
    onParentGone(handle) {
      proc.on('disconnect', handle);
    },
    close() {
      proc.removeAllListeners('message');
      if (proc.connected) proc.disconnect();
    },
  };
}

export function parentPortTransport(port: ParentPortLike): EngineTransport {
  let listener: ((event: { data: unknown }) => void) | null = null;
  return {
    send: (message) => port.postMessage(message),
    onMessage(receive) {
      listener = (event) => receive(event.data);
      port.on('message', listener);
    },
    // a utilityProcess is killed by the main process when the app goes; nothing to watch here
    onParentGone() {},
    close() {
      if (listener && port.off) port.off('message', listener);
    },
  };
}

/** Picks the transport for the current process: Electron's parentPort when present, else Node IPC. */
export function detectTransport(proc: NodeJS.Process = process): EngineTransport {
  const port = (proc as NodeJS.Process & { parentPort?: ParentPortLike }).parentPort;
  return port ? parentPortTransport(port) : nodeIpcTransport(proc);
}
