// defectforge doctor [--json]: the facts that decide whether and how fast the engine runs, as
// the engine process itself sees them (it is the process that loads onnxruntime).
import type { RuntimeInfoResult } from '../../shared/engine-protocol';
import type { CommandSpec } from '../command';
import { withEngine } from '../engine';

export const doctorCommand: CommandSpec = {
  name: 'doctor',
  summary: 'check the engine: OS, CPU, Node, onnxruntime, execution providers',
  positionals: [],
  options: {
    json: { type: 'boolean', description: 'print the facts as JSON' },
  },
  async run({ options }, io) {
    const info = await withEngine(io, (engine) => engine.request('runtimeInfo', {}, { signal: io.signal }));
    io.stdout(options.json ? JSON.stringify(info, null, 2) + '\n' : formatRuntimeInfo(info));
  },
};

export function formatRuntimeInfo(info: RuntimeInfoResult): string {
  return (
    [
      `os                   ${info.os.platform} ${info.os.release} (${info.os.arch})`,
      `cpu                  ${info.cpu.model}, ${info.cpu.cores} cores`,
      `node                 ${info.nodeVersion}${info.electronVersion ? ` (electron ${info.electronVersion})` : ''}`,
      `onnxruntime-node     ${info.onnxruntimeVersion}`,
      `execution providers  ${info.executionProviders.join(', ')}`,
      `chosen provider      ${info.chosenExecutionProvider}${info.fallbackReason ? ` (${info.fallbackReason})` : ''}`,
      `threads              intra-op ${info.intraOpNumThreads}, inter-op ${info.interOpNumThreads}`,
      `training convs       ${info.trainingConvKernels} on CPU`,
    ].join('\n') + '\n'
  );
}
