// defectforge synth --model <dir> --image <normal.png> --mask <mask.png> --out <out.png> [...]:
// paints one defect into a normal image, exactly inside the mask, in the engine process. Writes
// the image, the exact mask (<stem>.mask.png) and the lineage (<stem>.lineage.json). Progress
// goes to stderr, the written paths to stdout; Ctrl-C cancels at the next sampler step.
import { resolve } from 'node:path';
import type { SynthesizeParams, SynthesizeResult } from '../../shared/engine-protocol';
import { UserError } from '../../shared/errors';
import { throttleProgress } from '../../main/api/throttle';
import { isCancelledError } from '../../main/engine-host/errors';
import type { CliIO, CommandSpec, ParsedArgs } from '../command';
import { withEngine } from '../engine';
import { optionSize } from './train';

const SAMPLERS = ['ddim', 'euler', 'ddpm'] as const;

export const synthCommand: CommandSpec = {
  name: 'synth',
  summary: 'paint a defect into a normal image inside a mask; writes the image, its exact mask and a lineage record',
  positionals: [],
  options: {
    model: { type: 'string', valueName: 'dir', description: 'model folder: a DefectForge package or an SD 1.x ONNX folder [required]' },
    size: { type: 'string', valueName: 'WxH', description: 'SD 1.x folders exported without a fixed image size: run at this pixel size (default 512x512)' },
    image: { type: 'string', valueName: 'file', description: 'normal (defect-free) image, at the model\'s image size [required]' },
    mask: { type: 'string', valueName: 'file', description: 'defect mask (non-zero = defect), same size as the image [required]' },
    out: { type: 'string', valueName: 'file.png', description: 'output image; <stem>.mask.png and <stem>.lineage.json are written beside it [required]' },
    embedding: { type: 'string', valueName: 'file', description: 'trained anomaly embedding of the defect type' },
    family: { type: 'string', valueName: 'label', description: 'texture/product family of the model (e.g. wood)' },
    defect: { type: 'string', valueName: 'family', description: 'a defect family the model knows (instead of an embedding)' },
    steps: { type: 'string', valueName: 'n', description: 'sampler steps (default 25)' },
    sampler: { type: 'string', valueName: 'name', choices: SAMPLERS, description: 'sampler (default ddim)' },
    eta: { type: 'string', valueName: 'x', description: 'DDIM eta, 0 deterministic .. 1 ancestral (default 1)' },
    seed: { type: 'string', valueName: 'n', description: 'random seed (default: a fresh one, printed and recorded)' },
    guidance: { type: 'string', valueName: 'x', description: 'classifier-free guidance scale, 1 = off (default 3)' },
    aar: { type: 'string', valueName: 'on|off', choices: ['on', 'off'], description: 'adaptive attention re-weighting (default on)' },
    detail: { type: 'string', valueName: 'on|off', choices: ['on', 'off'], description: "keep the image's fine detail in the generated region (default on; off: the decoder's output)" },
    strength: { type: 'string', valueName: 'x', description: 'in (0, 1]: 1 starts from noise, less keeps more of the image (default 1)' },
    json: { type: 'boolean', description: 'print the result as JSON' },
  },
  details:
    'The image and the mask must have the model\'s image size (it is not resized: the background is\n' +
    'pasted back pixel-exact). Outside a slightly dilated mask the output equals the input.',
  async run(args, io) {
    const params = synthParams(args, io.cwd);
    const progress = progressPrinter(io);
    let result: SynthesizeResult;
    try {
      result = await withEngine(io, (engine) => engine.request('synthesize', params, { signal: io.signal, onProgress: (e) => progress.update(e.step, e.total) }));
    } catch (e) {
      progress.done();
      if (isCancelledError(e)) throw new UserError('CANCELLED', 'cancelled; nothing was written');
      throw e;
    }
    progress.done();
    if (args.options.json) {
      io.stdout(JSON.stringify(result, null, 2) + '\n');
      return;
    }
    io.stdout(
      [
        `image    ${result.image}`,
        `mask     ${result.mask}`,
        `lineage  ${result.lineage}`,
        `seed ${result.seed}, model ${result.modelHash.slice(0, 12)}, ${result.executionProvider}, ${result.seconds.toFixed(1)} s`,
      ].join('\n') + '\n',
    );
  },
};

/** Checks and converts the command line into the engine's params (paths made absolute). */
export function synthParams({ options }: ParsedArgs, cwd: string): SynthesizeParams {
  const str = (name: string): string | undefined => {
    const v = options[name];
    return typeof v === 'string' ? v : undefined;
  };
  const required = (name: string): string => {
    const v = str(name);
    if (v === undefined || v === '') throw new UserError('BAD_ARGS', `--${name} is required (see defectforge synth --help)`);
    return resolve(cwd, v);
  };
  const num = (name: string, integer: boolean): number | undefined => {
    const v = str(name);
    if (v === undefined) return undefined;
    const n = Number(v);
    if (v.trim() === '' || !Number.isFinite(n) || (integer && !Number.isInteger(n))) {
      throw new UserError('BAD_ARGS', `--${name} must be ${integer ? 'a whole number' : 'a number'} (got ${JSON.stringify(v)})`);
    }
    return n;
  };
  const params: SynthesizeParams = { model: required('model'), image: required('image'), mask: required('mask'), out: required('out') };
  const embedding = str('embedding');
  if (embedding !== undefined) params.embedding = resolve(cwd, embedding);
  for (const name of ['family', 'defect'] as const) {
    const v = str(name);
    if (v !== undefined) params[name] = v;
  }
  const sampler = str('sampler');
  if (sampler !== undefined) params.sampler = sampler as (typeof SAMPLERS)[number];
  const numbers = { steps: num('steps', true), eta: num('eta', false), seed: num('seed', true), guidance: num('guidance', false), strength: num('strength', false) };
  for (const [k, v] of Object.entries(numbers)) if (v !== undefined) params[k as keyof typeof numbers] = v;
  const aar = str('aar');
  if (aar !== undefined) params.aar = aar === 'on';
  const detail = str('detail');
  if (detail !== undefined) params.restoreDetail = detail === 'on';
  const size = optionSize({ positionals: [], options });
  if (size) params.imageSize = size;
  return params;
}

/** On a terminal one line is redrawn; otherwise (a log file, CI) a line at most every 2 s. */
function progressPrinter(io: CliIO): { update: (step: number, total: number) => void; done: () => void } {
  let drawn = false;
  const update = throttleProgress(
    (step, total) => {
      const text = `denoising step ${step}/${total}`;
      if (io.stderrIsTTY) {
        io.stderr(`\r${text}`);
        drawn = true;
      } else io.stderr(`${text}\n`);
    },
    io.stderrIsTTY ? 100 : 2000,
  );
  return {
    update,
    done: () => {
      if (drawn) io.stderr('\n');
      drawn = false;
    },
  };
}
