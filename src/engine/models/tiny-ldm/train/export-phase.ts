// Phase 3: the finished VAE and UNet checkpoints -> the built-in model package
// (builtin/export.ts writeBuiltinPackage), with the measured facts in its `training` block.

import { readCheckpoint, type Checkpoint } from '../../../autodiff/checkpoint';
import { shippedWeights } from '../../../autodiff/optim';
import { onnxruntimeVersion } from '../../../runtime';
import { UserError } from '../../../../shared/errors';
import { writeBuiltinPackage } from '../../builtin/export';
import type { BuiltinManifest } from '../../builtin/manifest';
import { latentSize } from '../config';
import { packageGraphs } from '../models';
import { buildVocabulary } from '../tokens';
import { TOKEN_TABLE_PARAM } from './graphs';
import { HELD_OUT_DEFECTS, trainedDefects } from './data';
import { loadLatents } from './latents';
import { fingerprint, packageConfig, unetSchedule, type TrainPlan } from './plan';
import { decoderCheckpointPath } from './decoder-phase';
import { unetCheckpointPath } from './unet-phase';
import { vaeCheckpointPath } from './vae-phase';

async function finished(path: string, plan: TrainPlan, phase: 'vae' | 'decoder' | 'unet'): Promise<Checkpoint> {
  const ckpt = await readCheckpoint(path);
  if (ckpt.meta['fingerprint'] !== fingerprint(plan, phase)) throw new UserError('TRAIN_PLAN_CHANGED', `${path}: made with other settings than this export's`);
  if (ckpt.meta['done'] !== true) throw new UserError('TRAIN_NOT_DONE', `${path}: the ${phase} phase has not finished (step ${String(ckpt.meta['step'])}); run the training first`);
  return ckpt;
}

export async function runExport(plan: TrainPlan, dir: string, outDir: string): Promise<BuiltinManifest> {
  const cfg = packageConfig(plan);
  const vae = await finished(vaeCheckpointPath(dir), plan, 'vae');
  // the decoder phase's weights (same names) replace the VAE's own decoder
  const decoder = plan.decoder ? await finished(decoderCheckpointPath(dir), plan, 'decoder') : undefined;
  const unet = await finished(unetCheckpointPath(dir), plan, 'unet');
  const weights = new Map<string, Float32Array>();
  for (const ckpt of [vae, decoder]) for (const [name, p] of Object.entries(ckpt?.params ?? {})) weights.set(name, p.data);
  // the UNet, spatial encoder and token table: their parameter average when the plan keeps one
  for (const [name, w] of shippedWeights(unet.params, unet.optimizer)) weights.set(name, w);
  const table = weights.get(TOKEN_TABLE_PARAM);
  if (!table) throw new Error(`${unetCheckpointPath(dir)}: no '${TOKEN_TABLE_PARAM}'`);
  const latents = loadLatents(plan, dir);
  const vocabulary = buildVocabulary(cfg.defectTokens);
  const g = latentSize(cfg);
  const vaeCpu = vae.meta['cpuSeconds'] as number;
  const decoderCpu = decoder ? (decoder.meta['cpuSeconds'] as number) : 0;
  const unetCpu = unet.meta['cpuSeconds'] as number;
  const training = {
    date: new Date().toISOString(),
    plan: plan.name,
    seed: plan.seed,
    corpus: 'DefectForge procedural corpus (src/engine/corpus)',
    heldOutDefects: [...HELD_OUT_DEFECTS],
    trainedDefects: trainedDefects(),
    vae: {
      steps: vae.meta['step'],
      batch: plan.vae.batch,
      crop: plan.vae.crop,
      latentChannels: cfg.vae.latentChannels,
      posterior: cfg.vae.posterior ?? 'deterministic',
      ...(plan.vae.klWeight !== undefined ? { klWeight: plan.vae.klWeight } : {}),
      reconstruction: vae.meta['eval'] ?? null,
    },
    ...(plan.decoder && decoder
      ? { decoder: { steps: decoder.meta['step'], batch: plan.decoder.batch, crop: plan.decoder.crop, channels: [...plan.decoder.channels], mseWeight: plan.decoder.mseWeight, reconstruction: decoder.meta['eval'] ?? null } }
      : {}),
    latentScale: latents.scale,
    latentMean: latents.mean,
    latentSamples: latents.count,
    unet: { steps: unet.meta['step'], batch: plan.unet.batch, ...(plan.unet.emaDecay !== undefined ? { emaDecay: plan.unet.emaDecay } : {}), dropAll: plan.unet.dropAll, dropLabels: plan.unet.dropLabels, dropMask: plan.unet.dropMask, maskedLossBatches: plan.unet.maskedLossBatches },
    cpuSeconds: { vae: vaeCpu, ...(decoder ? { decoder: decoderCpu } : {}), latents: latents.cpuSeconds, unet: unetCpu, total: vaeCpu + decoderCpu + latents.cpuSeconds + unetCpu },
    onnxruntime: onnxruntimeVersion(),
    ortThreads: 1,
  };
  return writeBuiltinPackage(outDir, {
    name: plan.name,
    description: 'DefectForge tiny latent diffusion model, pretrained on CPU on the procedural corpus',
    graphs: packageGraphs(cfg, weights, dir),
    tokenTable: table,
    vocabulary: vocabulary.index,
    latent: { channels: cfg.vae.latentChannels, width: g, height: g, scale: latents.scale },
    schedule: unetSchedule(plan),
    ...(plan.guidanceRescale !== undefined ? { guidanceRescale: plan.guidanceRescale } : {}),
    tokens: { width: cfg.tokenWidth, defectTokens: cfg.defectTokens, spatialTokens: cfg.spatialTokens },
    attentionGrids: [...cfg.unet.attentionAt].sort((a, b) => b - a).map((s) => ({ width: s, height: s })),
    training,
    overwrite: true,
  });
}
