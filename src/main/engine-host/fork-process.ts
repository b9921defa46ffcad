// Starts the engine as a Node child with an IPC channel. 'advanced' serialisation is the
// structured clone Electron's postMessage uses, so typed arrays cross both transports alike.
import { fork } from 'node:child_process';
import type { EngineLaunch } from './launch';
import { TailBuffer, type EngineExit, type EngineProcess, type EngineProcessFactory } from './engine-process';

export function forkEngineFactory(launch: EngineLaunch): EngineProcessFactory {
  return () => forkEngine(launch);
}

function forkEngine(launch: EngineLaunch): EngineProcess {
  const child = fork(launch.entry, launch.args ?? [], {
    execArgv: launch.execArgv,
    cwd: launch.cwd,
    env: launch.env ?? process.env,
    serialization: 'advanced',
    // stdout is not part of the protocol; stderr is kept for crash messages and passed on
    stdio: ['ignore', 'pipe', 'pipe', 'ipc'],
  });
  const tail = new TailBuffer();
  child.stderr?.setEncoding('utf8');
  child.stderr?.on('data', (chunk: string) => {
    tail.push(chunk);
    launch.onStderr?.(chunk);
  });
  child.stdout?.setEncoding('utf8');
  child.stdout?.on('data', (chunk: string) => launch.onStderr?.(chunk));

  let exitHandler: ((exit: EngineExit) => void) | null = null;
  let exited: EngineExit | null = null;
  const finish = (exit: EngineExit) => {
    if (exited) return;
    exited = exit;
    exitHandler?.(exit);
  };
  // 'close' (not 'exit') so that stderr has been read to its end when the reason is reported
  child.on('close', (code, signal) => finish({ code, signal }));
  child.on('error', (err) => {
    // spawn failures never reach 'close' with a code; send errors after exit are covered by it
    if (child.pid === undefined) finish({ code: null, signal: null, startError: err.message });
  });

  return {
    get pid() {
      return child.pid;
    },
    send(message) {
      if (!child.connected) return;
      // a send racing the child's death fails here; the exit handler reports the death
      child.send(message, (err) => {
        if (err) tail.push(`\n[host] could not send to engine: ${err.message}\n`);
      });
    },
    onMessage(receive) {
      child.on('message', receive);
    },
    onExit(handle) {
      exitHandler = handle;
      if (exited) handle(exited);
    },
    kill() {
      if (child.exitCode === null && child.signalCode === null) child.kill();
    },
    stderrTail: () => tail.toString(),
  };
}
