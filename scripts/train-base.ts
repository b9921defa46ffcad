// `npm run train:base`: pretrains the built-in tiny LDM on the procedural corpus, on CPU, and
// exports resources/models/tiny-ldm (the v5 plan: VAE, wider decoder, latents, UNet with the mask
// input on a zero-terminal-SNR v-prediction schedule, export). Resumable: run it again after a
// stop (Ctrl-C, --minutes, kill -9) and it continues from the last checkpoint.
//
//   --plan v1|v2|v3|v4|v5     v5 (default, shipped): v3 with its UNet trained on a zero-terminal-SNR
//                             schedule with v-prediction (ZERO_SNR_V_SCHEDULE), training folder
//                             ~/.cache/defectforge/train-base-v5 (a finished v3 folder's vae.ckpt,
//                             decoder.ckpt, vae-pool-*.rgb and latents-* copied there leave only its
//                             UNet to train); v3: v2 with the defect mask into the UNet (TINY_LDM_V3),
//                             ~/.cache/defectforge/train-base-v3, package name tiny-ldm-v3 (a
//                             finished v2 folder's files as above leave only its UNet); v2: 4 latent
//                             channels + KL-regularised encoder (TINY_LDM_V2) and a wider decoder,
//                             ~/.cache/defectforge/train-base-v2, package name tiny-ldm-v2; v1: the
//                             first design (16 channels, ~/.cache/defectforge/train-base, tiny-ldm-v1);
//                             v4: v3 with the family embedding in the UNet (TINY_LDM_V4),
//                             ~/.cache/defectforge/train-base-v4 (a finished v3 folder's files as above
//                             leave only its UNet), package name tiny-ldm-v4
//   --latent-channels N       latent experiments: another channel count (4..16)
//   --kl BETA|off             latent experiments: gaussian posterior with KL weight BETA, or none
//   --vae-steps N             latent experiments: another VAE step count
//   --defect-weight W         UNet experiments: the loss weight of defect cells (plan.unet.defectWeight)
//   --min-snr G               UNet experiments: Min-SNR-G timestep weighting (plan.unet.minSnrGamma)
//   --offset-noise S          UNet experiments: offset noise of std S per latent channel (plan.unet.offsetNoise)
//   --zero-snr                UNet experiments: zero-terminal-SNR schedule with v-prediction (ZERO_SNR_V_SCHEDULE)
//                             (any of these six: the package defaults to <train dir>/package)
//   --phase vae|decoder|unet|export
//                             run only that phase (its prerequisites must be done; the decoder
//                             phase, of plans that have one, needs only the VAE: it can run beside
//                             the UNet phase in a second process)
//   --minutes N               stop (with a checkpoint) after N minutes
//   --sequential              run the decoder phase in this process after the VAE, not beside the
//                             latents and the UNet in a second process (the default on 2+ cores:
//                             the decoder phase then costs no wall time beyond the UNet's; its log
//                             is train-log-decoder.jsonl either way)
//   --smoke                   a tiny end-to-end run (~2 minutes) in <train dir>/smoke
//   --dir PATH                training folder (default: DEFECTFORGE_TRAIN_DIR, else ~/.cache/defectforge/train-base)
//   --out PATH                package folder (default: resources/models/<name>; --smoke: <train dir>/package)
//   --eval-vae                print the reconstruction PSNR of the current VAE checkpoint and exit
//   --probe                   latent learnability probe of the VAE checkpoint (PSNR, latent autocorrelation,
//                             a short UNet run and its eps-MSE; train/probe.ts) into <train dir>/probe/vae-step-N and exit
//   --probe-steps N           UNet steps of the probe (default 300; 0: PSNR and autocorrelation only)
//   --preview                 paint defects with the exported package into <train dir>/preview.png and exit
import { spawn } from 'node:child_process';
import { availableParallelism } from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { readCheckpoint } from '../src/engine/autodiff/checkpoint';
import { configureRuntime } from '../src/engine/runtime';
import { defaultTrainDir, evaluateAutoencoder, planVariant, runPretraining, selectPlan, vaeCheckpointPath, type PhaseBeside, type PlanVariant, type PhaseName } from '../src/engine/models/tiny-ldm/train';
import { PROBE_SETTINGS, runProbe } from '../src/engine/models/tiny-ldm/train/probe';
import { writePreview } from '../src/engine/models/tiny-ldm/train/preview';
import { isUserError } from '../src/shared/errors';

interface Args {
  plan: string;
  variant: PlanVariant;
  phase?: PhaseName;
  minutes?: number;
  smoke: boolean;
  dir?: string;
  out?: string;
  evalVae: boolean;
  preview: boolean;
  probe: boolean;
  probeSteps?: number;
  sequential: boolean;
}

function parseArgs(argv: string[]): Args {
  const args: Args = { plan: 'v5', variant: {}, smoke: false, evalVae: false, preview: false, probe: false, sequential: false };
  for (let i = 0; i < argv.length; i++) {
    const a = argv[i]!;
    const value = (): string => {
      const v = argv[++i];
      if (v === undefined) throw new Error(`${a} needs a value`);
      return v;
    };
    const integer = (): number => {
      const v = value();
      const n = Number(v);
      if (!Number.isInteger(n) || n <= 0) throw new Error(`${a} must be a positive integer, got '${v}'`);
      return n;
    };
    if (a === '--smoke') args.smoke = true;
    else if (a === '--plan') args.plan = value();
    else if (a === '--latent-channels') args.variant.latentChannels = integer();
    else if (a === '--vae-steps') args.variant.vaeSteps = integer();
    else if (a === '--defect-weight') args.variant.defectWeight = Number(value());
    else if (a === '--min-snr') args.variant.minSnrGamma = Number(value());
    else if (a === '--offset-noise') args.variant.offsetNoise = Number(value());
    else if (a === '--zero-snr') args.variant.zeroSnr = true;
    else if (a === '--kl') {
      const v = value();
      const beta = Number(v);
      if (v !== 'off' && !(Number.isFinite(beta) && beta >= 0)) throw new Error(`--kl must be a number >= 0 or 'off', got '${v}'`);
      args.variant.kl = v === 'off' ? 'off' : beta;
    }
    else if (a === '--eval-vae') args.evalVae = true;
    else if (a === '--sequential') args.sequential = true;
    else if (a === '--preview') args.preview = true;
    else if (a === '--probe') args.probe = true;
    else if (a === '--probe-steps') {
      const v = value();
      const n = Number(v);
      if (!Number.isInteger(n) || n < 0) throw new Error(`--probe-steps must be an integer >= 0, got '${v}'`);
      args.probeSteps = n;
    }
    else if (a === '--phase') {
      const p = value();
      if (p !== 'vae' && p !== 'decoder' && p !== 'unet' && p !== 'export') throw new Error(`--phase must be vae, decoder, unet or export, got '${p}'`);
      args.phase = p;
    } else if (a === '--minutes') {
      const m = Number(value());
      if (!(m > 0)) throw new Error('--minutes must be a positive number');
      args.minutes = m;
    } else if (a === '--dir') args.dir = value();
    else if (a === '--out') args.out = value();
    else throw new Error(`unknown argument '${a}' (see scripts/train-base.ts for the options)`);
  }
  return args;
}

async function main(): Promise<void> {
  const args = parseArgs(process.argv.slice(2));
  configureRuntime({ intraOpNumThreads: 1 });
  const selected = selectPlan(args.plan, args.smoke);
  const isVariant = Object.keys(args.variant).length > 0;
  const plan = isVariant ? planVariant(selected, args.variant) : selected;
  const base = args.dir !== undefined ? path.resolve(args.dir) : defaultTrainDir(process.env, plan.trainFolder);
  const dir = args.smoke && args.dir === undefined ? path.join(base, 'smoke') : base;
  // an experiment never exports into resources/models by default
  const outDir = args.out !== undefined ? path.resolve(args.out) : args.smoke || isVariant ? path.join(dir, 'package') : path.join(import.meta.dirname, '..', 'resources', 'models', plan.name);
  if (args.evalVae) {
    const ckpt = await readCheckpoint(vaeCheckpointPath(dir));
    const weights = new Map(Object.entries(ckpt.params).map(([k, p]) => [k, p.data]));
    const report = await evaluateAutoencoder(plan.model, weights, { seed: plan.seed, heldout: plan.eval.heldoutImages, bsdata: plan.eval.bsdataImages, source: vaeCheckpointPath(dir) });
    console.log(JSON.stringify({ step: ckpt.meta['step'], ...report }));
    return;
  }
  if (args.probe) {
    const settings = { ...PROBE_SETTINGS, ...(args.probeSteps !== undefined ? { unetSteps: args.probeSteps } : {}) };
    const report = await runProbe(plan, dir, settings, (line) => {
      const r = JSON.parse(line) as { step?: number; event?: string };
      if (r.event !== undefined || (r.step ?? 0) % 50 === 0) console.log(line);
    });
    console.log(JSON.stringify(report, null, 2));
    return;
  }
  if (args.preview) {
    const file = path.join(dir, 'preview.png');
    const rows = await writePreview(outDir, file);
    for (const r of rows) console.log(`${r.family} / ${r.defect}: mean change inside the mask ${r.changeInside.toFixed(1)} (8-bit)`);
    console.log(`preview: ${file}`);
    return;
  }
  console.log(`plan: ${plan.name}\ntraining folder: ${dir}\npackage: ${outDir}`);
  const echo = (line: string): void => {
    const r = JSON.parse(line) as { step?: number; event?: string };
    if (r.event !== undefined || args.smoke || (r.step ?? 0) % 20 === 0) console.log(line);
  };
  const beside = !args.sequential && args.phase === undefined && availableParallelism() >= 2;
  const summary = await runPretraining({
    plan,
    dir,
    outDir,
    ...(args.phase ? { phase: args.phase } : {}),
    ...(args.minutes !== undefined ? { minutes: args.minutes } : {}),
    ...(beside ? { decoderBeside: () => decoderInSecondProcess(process.argv.slice(2)) } : {}),
    echo,
    handleSignals: true,
  });
  // the decoder phase's second process shares this terminal: its lines say which run they end
  const what = args.phase ? `the ${args.phase} phase` : 'pretraining';
  console.log(summary.complete ? `${what} done; log: ${summary.logPath}` : `${what} stopped; run again to resume (log: ${summary.logPath})`);
}

/**
 * This script again, with the same arguments plus `--phase decoder`, in a second process whose
 * output shares this terminal. Ctrl-C reaches both (one process group); stop() is for when this
 * process ends first for another reason (its time cap, a failure).
 */
function decoderInSecondProcess(argv: string[]): PhaseBeside {
  const child = spawn(process.execPath, [...process.execArgv, fileURLToPath(import.meta.url), ...argv, '--phase', 'decoder'], { stdio: ['ignore', 'inherit', 'inherit'] });
  const ended = new Promise<string>((resolve) => {
    child.on('error', (e) => resolve(`could not start: ${e.message}`));
    child.on('exit', (code, signal) => resolve(signal !== null ? `signal ${signal}` : `exit code ${code}`));
  });
  return {
    ended,
    stop: () => {
      if (child.exitCode === null && child.signalCode === null) child.kill('SIGTERM');
    },
  };
}

main().catch((e: unknown) => {
  console.error(isUserError(e) ? `error: ${e.message}` : e);
  process.exit(isUserError(e) ? 1 : 2);
});
