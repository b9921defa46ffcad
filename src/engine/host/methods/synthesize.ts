// synthesize: one defect image from a normal image and a mask with a built-in model, written with
// its exact mask and lineage beside it. Progress after every sampler step; a cancel stops the
// loop at the next step boundary (an ONNX run itself cannot be interrupted).
import { randomInt } from 'node:crypto';
import { UserError } from '../../../shared/errors';
import type { SynthesizeParams } from '../../../shared/engine-protocol';
import { checkImageSize } from '../../models/sd1/image-size';
import type { MethodHandler } from '../handler';
import { integerParam, optionalStringParam, paramsObject } from '../params';
import { RESTORE_DETAIL_BY_DEFAULT } from '../../diffusion/paste-back';

const SAMPLER_NAMES = ['ddim', 'euler', 'ddpm'] as const;

function requiredString(p: Record<string, unknown>, field: string): string {
  const v = optionalStringParam('synthesize', p, field);
  if (v === undefined || v === '') throw new UserError('BAD_PARAMS', `synthesize: ${field} is required`);
  return v;
}

function numberParam(p: Record<string, unknown>, field: string, fallback: number, ok: (v: number) => boolean, range: string): number {
  const v = p[field];
  if (v === undefined) return fallback;
  if (typeof v !== 'number' || !Number.isFinite(v) || !ok(v)) throw new UserError('BAD_PARAMS', `synthesize: ${field} must be ${range} (got ${JSON.stringify(v)})`);
  return v;
}

export function parseSynthesizeParams(raw: unknown): Required<Omit<SynthesizeParams, 'embedding' | 'family' | 'defect' | 'imageSize'>> & Pick<SynthesizeParams, 'embedding' | 'family' | 'defect' | 'imageSize'> {
  const p = paramsObject('synthesize', raw);
  const sampler = p['sampler'] ?? 'ddim';
  if (!SAMPLER_NAMES.includes(sampler as never)) throw new UserError('BAD_PARAMS', `synthesize: sampler must be one of ${SAMPLER_NAMES.join(', ')} (got ${JSON.stringify(sampler)})`);
  if (p['aar'] !== undefined && typeof p['aar'] !== 'boolean') throw new UserError('BAD_PARAMS', `synthesize: aar must be true or false`);
  if (p['restoreDetail'] !== undefined && typeof p['restoreDetail'] !== 'boolean') throw new UserError('BAD_PARAMS', `synthesize: restoreDetail must be true or false`);
  const imageSize = p['imageSize'];
  if (imageSize !== undefined) checkImageSize('synthesize: imageSize', imageSize);
  const optional = (field: 'embedding' | 'family' | 'defect') => {
    const v = optionalStringParam('synthesize', p, field);
    return v === undefined || v === '' ? {} : { [field]: v };
  };
  return {
    model: requiredString(p, 'model'),
    image: requiredString(p, 'image'),
    mask: requiredString(p, 'mask'),
    out: requiredString(p, 'out'),
    ...optional('embedding'),
    ...optional('family'),
    ...optional('defect'),
    ...(imageSize !== undefined ? { imageSize } : {}),
    sampler: sampler as SynthesizeParams['sampler'] & string,
    steps: p['steps'] === undefined ? 25 : integerParam('synthesize', p, 'steps', 1, 1000),
    eta: numberParam(p, 'eta', 1, (v) => v >= 0 && v <= 1, 'in [0, 1]'),
    // no seed given: a fresh one, recorded in the lineage and the result
    seed: p['seed'] === undefined ? randomInt(0, 2 ** 31) : integerParam('synthesize', p, 'seed', 0, 2 ** 32 - 1),
    guidance: numberParam(p, 'guidance', 3, (v) => v >= 0 && v <= 50, 'in [0, 50]'),
    aar: (p['aar'] as boolean | undefined) ?? true,
    restoreDetail: (p['restoreDetail'] as boolean | undefined) ?? RESTORE_DETAIL_BY_DEFAULT,
    strength: numberParam(p, 'strength', 1, (v) => v > 0 && v <= 1, 'in (0, 1]'),
  };
}

export const synthesize: MethodHandler<'synthesize'> = async (raw, ctx) => {
  const p = parseSynthesizeParams(raw);
  const started = performance.now();
  // loaded on first use: the engine starts without the imaging and model code
  const [{ synthesizeFile }, { appVersion }] = await Promise.all([import('../../models/builtin/synthesize'), import('../../../main/store/app-version')]);
  ctx.log('info', `synthesize: ${p.sampler} ${p.steps} steps, seed ${p.seed}, model ${p.model}`);
  const output = await synthesizeFile(
    { model: p.model, image: p.image, mask: p.mask, out: p.out, ...(p.embedding ? { embedding: p.embedding } : {}) },
    {
      ...(p.family ? { family: p.family } : {}),
      ...(p.defect ? { defect: p.defect } : {}),
      ...(p.imageSize ? { imageSize: p.imageSize } : {}),
      sampler: { sampler: p.sampler, steps: p.steps, eta: p.eta },
      seed: p.seed,
      guidance: p.guidance,
      aar: p.aar,
      restoreDetail: p.restoreDetail,
      strength: p.strength,
    },
    {
      signal: ctx.signal,
      appVersion: appVersion(),
      onStep: (e) => {
        const elapsed = (performance.now() - started) / 1000;
        ctx.progress({ step: e.step, total: e.total, etaSeconds: (elapsed / e.step) * (e.total - e.step), message: `step ${e.step} of ${e.total}` });
      },
    },
  );
  return { ...output, seed: p.seed, seconds: (performance.now() - started) / 1000 };
};
