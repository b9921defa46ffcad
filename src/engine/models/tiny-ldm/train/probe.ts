// The latent "learnability" probe (issue 5, `npm run train:base -- --probe`): how good a trained
// VAE checkpoint's latent space is for the diffusion model, in minutes instead of the ~75 min of a
// full UNet phase:
//   (a) reconstruction PSNR on held-out procedural images and on ball_screw (./evaluate)
//   (b) the median lag-1 spatial autocorrelation of the latent channels on the held-out images
//       (./latent-stats; noise-like channels, r ~ 0, are what the shipped v1 latents suffer from)
//   (c) a short UNet run (same UNet, plan and data as the pretraining, a few hundred steps on a
//       small latent cache) and its eps-MSE on the held-out latents at a few timesteps:
//         z_t = sqrt(abar_t) * scale * z0 + sqrt(1 - abar_t) * eps,   MSE(UNet(z_t, t, c), eps)
//       with c the sample's family and anomaly tokens (spatial slots '<null>') and, for
//       comparison, with the all-'<null>' context (conditional vs unconditional).
// Every probe of the same settings sees the same data and noise, so probes of different latent
// designs compare directly. Files go to <training folder>/probe/vae-step-<N> (its own latent
// cache, UNet checkpoint, log and probe.json), so a VAE that trains on can be probed again at a
// later step; a rerun at the same step reuses what is done.

import { mkdirSync } from 'node:fs';
import path from 'node:path';
import { UserError } from '../../../../shared/errors';
import { Rng } from '../../../../shared/random';
import { readCheckpoint, writeFileAtomic } from '../../../autodiff/checkpoint';
import { shippedWeights } from '../../../autodiff/optim';
import { deriveSeed } from '../../../corpus';
import { alphasCumprod } from '../../../diffusion/schedule';
import { splitPrediction } from '../../../diffusion/schedulers/scheduler';
import { encodeModel } from '../../../onnx/serialize';
import { createSession } from '../../../runtime';
import { contextLength, latentSize } from '../config';
import { buildUNetGraph, withWeights } from '../models';
import { NULL_TOKEN, buildVocabulary, tokenRow } from '../tokens';
import { corpusSample, sampleLabels } from './data';
import { evaluateAutoencoder, openAutoencoder } from './evaluate';
import { TOKEN_TABLE_PARAM } from './graphs';
import { summariseAutocorrelation, type AutocorrelationSummary } from './latent-stats';
import { buildLatents } from './latents';
import { processCpuSeconds, TrainLog } from './log';
import { fingerprint, unetSchedule, type TrainPlan } from './plan';
import { runUNetPhase, unetCheckpointPath } from './unet-phase';
import { vaeCheckpointPath } from './vae-phase';

export interface ProbeSettings {
  /** held-out procedural images for PSNR, autocorrelation and eps-MSE */
  heldoutImages: number;
  bsdataImages: number;
  /** the short UNet run: cached latents, steps, batch and schedule; 0 steps skips part (c) */
  latentSamples: number;
  unetSteps: number;
  unetBatch: number;
  unetLr: number;
  timesteps: number[];
}

/** ~5-8 min of CPU for the full-size model (1 ORT thread): 480 encodes, 300 UNet steps of batch 8. */
export const PROBE_SETTINGS: ProbeSettings = { heldoutImages: 16, bsdataImages: 16, latentSamples: 480, unetSteps: 300, unetBatch: 8, unetLr: 1e-3, timesteps: [50, 200, 500, 800] };

export interface EpsMse {
  t: number;
  /** context: the sample's family and anomaly tokens */
  conditional: number;
  /** context: all '<null>' */
  unconditional: number;
}

export interface ProbeReport {
  plan: string;
  latentChannels: number;
  posterior: 'gaussian' | 'deterministic';
  klWeight: number | null;
  vaeStep: number;
  heldoutPsnr: number | null;
  bsdataPsnr: number | null;
  autocorrelation: AutocorrelationSummary;
  /** the median r per kind of held-out image: its normal family, or 'mask-image' */
  autocorrelationByFamily: Record<string, number>;
  /** mean and std of the held-out latents (unscaled) */
  latentMean: number;
  latentStd: number;
  unet: { steps: number; batch: number; latentSamples: number; latentScale: number; lastLosses: number; epsMse: EpsMse[] } | null;
  cpuSeconds: number;
}

/** Where the probe of the VAE checkpoint at `vaeStep` keeps its files. */
export const probeDir = (dir: string, vaeStep: number): string => path.join(dir, 'probe', `vae-step-${vaeStep}`);

/** The plan of the probe's short UNet run: `plan` with the probe's cache size and UNet schedule. */
export function probePlan(plan: TrainPlan, vaeStep: number, s: ProbeSettings): TrainPlan {
  return {
    ...plan,
    name: `${plan.name}-probe`,
    // the cached latents' fingerprint carries the VAE's step count: probe the checkpoint as it is
    vae: { ...plan.vae, steps: vaeStep },
    latents: { samples: s.latentSamples, chunk: 120 },
    unet: { ...plan.unet, steps: s.unetSteps, batch: s.unetBatch, lr: s.unetLr, finalLr: s.unetLr / 10, warmup: Math.min(30, Math.floor(s.unetSteps / 4)) },
    checkpointSeconds: 300,
  };
}

export async function runProbe(plan: TrainPlan, dir: string, settings: ProbeSettings = PROBE_SETTINGS, echo?: (line: string) => void): Promise<ProbeReport> {
  const cpu0 = processCpuSeconds();
  const cfg = plan.model;
  const ckptPath = vaeCheckpointPath(dir);
  const vae = await readCheckpoint(ckptPath);
  if (vae.meta['fingerprint'] !== fingerprint(plan, 'vae')) {
    throw new UserError('TRAIN_PLAN_CHANGED', `${ckptPath}: this VAE checkpoint was trained with other settings than plan ${plan.name} (latent channels, posterior, KL weight or schedule); probe it with the options it was trained with`);
  }
  const vaeStep = vae.meta['step'] as number;
  const weights = new Map(Object.entries(vae.params).map(([k, p]) => [k, p.data]));
  const recon = await evaluateAutoencoder(cfg, weights, { seed: plan.seed, heldout: settings.heldoutImages, bsdata: settings.bsdataImages, source: ckptPath });

  // (b) the held-out latents (kept for the eps-MSE of part c)
  const S = cfg.imageSize;
  const g = latentSize(cfg);
  const C = cfg.vae.latentChannels;
  const samples = Array.from({ length: settings.heldoutImages }, (_, i) => corpusSample(plan.seed, 'heldout', i, S));
  const ae = await openAutoencoder(cfg, weights, ckptPath);
  const heldout: Float32Array[] = [];
  try {
    for (const s of samples) heldout.push((await ae.encode(s.image)).slice());
  } finally {
    await ae.release();
  }
  const autocorrelation = summariseAutocorrelation(heldout, C, g, g);
  const groups = new Map<string, Float32Array[]>();
  samples.forEach((s, i) => {
    const key = s.kind === 'mask-image' ? 'mask-image' : s.family;
    groups.set(key, [...(groups.get(key) ?? []), heldout[i]!]);
  });
  const autocorrelationByFamily = Object.fromEntries([...groups.entries()].sort(([a], [b]) => a.localeCompare(b)).map(([key, zs]) => [key, summariseAutocorrelation(zs, C, g, g).median]));
  let sum = 0;
  let count = 0;
  for (const z of heldout) {
    for (const v of z) sum += v;
    count += z.length;
  }
  const latentMean = sum / count;
  let sq = 0;
  for (const z of heldout) for (const v of z) sq += (v - latentMean) ** 2;
  const latentStd = Math.sqrt(sq / count);

  // (c) the short UNet run
  let unet: ProbeReport['unet'] = null;
  if (settings.unetSteps > 0) {
    const folder = probeDir(dir, vaeStep);
    mkdirSync(folder, { recursive: true });
    const log = new TrainLog(path.join(folder, 'probe-log.jsonl'), echo);
    const pplan = probePlan(plan, vaeStep, settings);
    const latents = await buildLatents(pplan, folder, weights, log, () => false);
    if (!latents) throw new Error(`${folder}: the probe's latent cache was not built`);
    const result = await runUNetPhase({ plan: pplan, dir: folder, log, shouldStop: () => false }, latents);
    const losses = log.records().filter((r) => r.phase === 'unet' && typeof r['step'] === 'number').map((r) => r['loss'] as number);
    const tail = losses.slice(-30);
    const unetCkpt = await readCheckpoint(unetCheckpointPath(folder));
    const unetWeights = shippedWeights(unetCkpt.params, unetCkpt.optimizer);
    const epsMse = await heldoutEpsMse(plan, samples.map((s) => sampleLabels(s, cfg.defectTokens)), heldout, latents.scale, unetWeights, settings.timesteps, unetCheckpointPath(folder));
    unet = { steps: result.step, batch: settings.unetBatch, latentSamples: settings.latentSamples, latentScale: latents.scale, lastLosses: tail.reduce((a, b) => a + b, 0) / Math.max(1, tail.length), epsMse };
  }
  const report: ProbeReport = {
    plan: plan.name,
    latentChannels: C,
    posterior: cfg.vae.posterior ?? 'deterministic',
    klWeight: plan.vae.klWeight ?? null,
    vaeStep,
    heldoutPsnr: recon.heldoutPsnr,
    bsdataPsnr: recon.bsdataPsnr,
    autocorrelation,
    autocorrelationByFamily,
    latentMean,
    latentStd,
    unet,
    cpuSeconds: Math.round((processCpuSeconds() - cpu0) * 10) / 10,
  };
  mkdirSync(probeDir(dir, vaeStep), { recursive: true });
  await writeFileAtomic(path.join(probeDir(dir, vaeStep), 'probe.json'), new TextEncoder().encode(JSON.stringify(report, null, 2) + '\n'));
  return report;
}

/**
 * eps-MSE of a trained UNet on the given unscaled latents at each timestep, with each latent's own
 * label context and with the all-'<null>' context; noise drawn from (seed, 'probe-eps', t).
 */
export async function heldoutEpsMse(plan: TrainPlan, labels: string[][], latents: Float32Array[], scale: number, unetWeights: ReadonlyMap<string, Float32Array>, timesteps: number[], source: string): Promise<EpsMse[]> {
  const cfg = plan.model;
  const n = latents.length;
  const per = latents[0]!.length;
  const W = cfg.tokenWidth;
  const L = contextLength(cfg);
  const table = unetWeights.get(TOKEN_TABLE_PARAM);
  if (!table) throw new Error(`${source}: no '${TOKEN_TABLE_PARAM}'`);
  const vocabulary = buildVocabulary(cfg.defectTokens);
  // context [n, L, W]: table rows of [family, anomaly..., '<null>' x spatial] (or all '<null>')
  const context = (conditional: boolean): Float32Array => {
    const out = new Float32Array(n * L * W);
    for (let b = 0; b < n; b++) {
      const seq = conditional ? [...labels[b]!, ...Array.from({ length: cfg.spatialTokens }, () => NULL_TOKEN)] : Array.from({ length: L }, () => NULL_TOKEN);
      if (seq.length !== L) throw new Error(`probe: context of ${seq.length} labels, the model takes ${L}`);
      seq.forEach((label, l) => out.set(table.subarray(tokenRow(vocabulary, label) * W, (tokenRow(vocabulary, label) + 1) * W), (b * L + l) * W));
    }
    return out;
  };
  const contexts = { conditional: context(true), unconditional: context(false) };
  const g = latentSize(cfg);
  const session = await createSession(encodeModel(withWeights(buildUNetGraph(cfg, n, { aar: false }), unetWeights, source)), { intraOpNumThreads: 1 });
  const schedule = unetSchedule(plan);
  const abar = alphasCumprod(schedule);
  const results: EpsMse[] = [];
  try {
    for (const t of timesteps) {
      if (!Number.isInteger(t) || t < 0 || t >= schedule.numTrainTimesteps) throw new Error(`probe: timestep ${t} is outside 0..${schedule.numTrainTimesteps - 1}`);
      const eps = new Rng(deriveSeed(plan.seed, 'probe-eps', t)).normals(n * per);
      const sample = new Float32Array(n * per);
      const a = Math.sqrt(abar[t]!);
      const s = Math.sqrt(1 - abar[t]!);
      for (let b = 0; b < n; b++) for (let i = 0; i < per; i++) sample[b * per + i] = a * scale * latents[b]![i]! + s * eps[b * per + i]!;
      const mse = async (ctx: Float32Array): Promise<number> => {
        const out = await session.run({
          sample: { dtype: 'float32', dims: [n, cfg.vae.latentChannels, g, g], data: sample },
          timestep: { dtype: 'float32', dims: [n], data: new Float32Array(n).fill(t) },
          context: { dtype: 'float32', dims: [n, L, W], data: ctx },
        });
        // a v-prediction UNet's output converted to its eps estimate, so probes of both compare
        const predicted = splitPrediction(schedule.predictionType, abar[t]!, out['eps']!.data as Float32Array, sample).eps;
        let se = 0;
        for (let i = 0; i < predicted.length; i++) se += (predicted[i]! - eps[i]!) ** 2;
        return se / predicted.length;
      };
      results.push({ t, conditional: await mse(contexts.conditional), unconditional: await mse(contexts.unconditional) });
    }
  } finally {
    await session.release();
  }
  return results;
}
