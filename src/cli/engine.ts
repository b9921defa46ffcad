// The CLI's engine: a Node child started from the source tree (the CLI always runs through tsx),
// ended when the command is done so the CLI process can exit. The engine's warnings and errors
// go to stderr; with DEFECTFORGE_DEBUG set, so does everything the engine process prints.
import { EngineHost, forkEngineFactory, sourceEngineLaunch } from '../main/engine-host';
import type { CliIO } from './command';

export async function withEngine<T>(io: CliIO, use: (engine: EngineHost) => Promise<T>): Promise<T> {
  const debug = Boolean(process.env.DEFECTFORGE_DEBUG);
  const launch = sourceEngineLaunch(debug ? { onStderr: (chunk) => io.stderr(chunk) } : {});
  const engine = new EngineHost(forkEngineFactory(launch), {
    onLog: (line) => {
      if (debug || line.level !== 'info') io.stderr(`engine ${line.level}: ${line.message}\n`);
    },
  });
  try {
    return await use(engine);
  } finally {
    await engine.dispose();
  }
}
