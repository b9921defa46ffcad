// defectforge adapt <project> [--model dir] [--mode full|lora] [--rank r] [--steps N] [--resume]
// [--json]: fine-tunes the model on the project's train/good images (UNet + VAE decoder, early
// stopping on a held-out slice) as an 'adapt' job of the project, run by the same JobManager and
// engine process the app uses. Progress goes to stderr, the adapted package and its measured
// effect (held-out loss, VAE PSNR before/after) to stdout; Ctrl-C cancels after a checkpoint.
import { resolve } from 'node:path';
import { UserError } from '../../shared/errors';
import type { AdaptMethodResult, AdaptParams } from '../../engine/host/methods/adapt';
import { openProject } from '../../main/store/project';
import type { CommandSpec } from '../command';
import { describeTrainingProgress, optionInteger, optionNumber, optionString, runProjectJob } from './train';
import { defaultModelDir } from '../../main/default-model';

export const adaptCommand: CommandSpec = {
  name: 'adapt',
  summary: 'fine-tune the model on the project\'s normal images (UNet + VAE decoder)',
  positionals: [{ name: 'project', description: 'project folder' }],
  options: {
    model: { type: 'string', valueName: 'dir', description: 'base model package (default: the installed default model)' },
    mode: { type: 'string', valueName: 'full|lora', description: 'train every UNet weight, or low-rank adapters (default lora)' },
    rank: { type: 'string', valueName: 'r', description: 'LoRA rank (default 4)' },
    steps: { type: 'string', valueName: 'n', description: 'most training steps; early stopping may end sooner (default 300)' },
    lr: { type: 'string', valueName: 'x', description: "the UNet's Adam learning rate (default 1e-4 full, 1e-3 lora)" },
    'decoder-lr': { type: 'string', valueName: 'x', description: "the VAE decoder's Adam learning rate (default 1e-4)" },
    seed: { type: 'string', valueName: 'n', description: 'random seed (default 0)' },
    batch: { type: 'string', valueName: 'n', description: 'batch size (default 4)' },
    'eval-every': { type: 'string', valueName: 'n', description: 'held-out evaluation every n steps (default 25)' },
    patience: { type: 'string', valueName: 'n', description: 'stop after n evaluations in which neither the UNet nor the decoder improved (default 4)' },
    category: { type: 'string', valueName: 'name', description: 'only this category\'s normal images' },
    resume: { type: 'boolean', description: 'continue the newest unfinished run with the same settings' },
    json: { type: 'boolean', description: 'print the result as JSON' },
  },
  details: 'Trains on the train/good images, holds out 10% of them for early stopping and the VAE PSNR\nfigure, and writes the adapted package to <project>/models/<name>-adapted-<version>/.\nPass that folder as --model to later commands.',
  async run(args, io) {
    const mode = optionString(args, 'mode');
    if (mode !== undefined && mode !== 'full' && mode !== 'lora') throw new UserError('BAD_ARGS', `--mode must be full or lora (got ${JSON.stringify(mode)})`);
    const project = openProject(resolve(io.cwd, args.positionals[0]!));
    try {
      const model = optionString(args, 'model');
      const params: AdaptParams = { project: project.dir, model: model ? resolve(io.cwd, model) : defaultModelDir() };
      if (mode) params.mode = mode;
      const numbers = {
        rank: optionInteger(args, 'rank', 1),
        steps: optionInteger(args, 'steps', 1),
        seed: optionInteger(args, 'seed', 0),
        batch: optionInteger(args, 'batch', 1),
        evalEvery: optionInteger(args, 'eval-every', 1),
        patience: optionInteger(args, 'patience', 1),
        lr: optionNumber(args, 'lr'),
        decoderLr: optionNumber(args, 'decoder-lr'),
      };
      for (const [k, v] of Object.entries(numbers)) if (v !== undefined) (params as unknown as Record<string, number>)[k] = v;
      const category = optionString(args, 'category');
      if (category) params.category = category;
      if (args.options.resume) params.resume = true;
      const r = await runProjectJob<AdaptMethodResult>(project, 'adapt', params, io, describeTrainingProgress);
      if (args.options.json) {
        io.stdout(JSON.stringify(r, null, 2) + '\n');
        return;
      }
      io.stdout(
        [
          `adapted model version ${r.version} (artifact ${r.artifactId}): ${r.modelDir}`,
          `${r.mode}, steps ${r.steps}${r.stoppedEarly ? ' (stopped early)' : ''}${r.resumedFromStep ? ` (resumed at ${r.resumedFromStep})` : ''}, ${r.trainImages} training / ${r.heldOutImages} held-out image(s), ${r.seconds.toFixed(1)} s`,
          `held-out loss ${r.heldOutBefore.loss.toFixed(5)} -> ${r.heldOutBest.loss.toFixed(5)} (UNet from step ${r.selection.unet.step}, decoder from step ${r.selection.decoder.step}${r.selection.improved.length === 0 ? '; neither improved: base weights kept' : ''})`,
          `VAE PSNR on held-out normals ${r.psnrBefore.toFixed(2)} -> ${r.psnrAfter.toFixed(2)} dB`,
          `model ${r.modelHash.slice(0, 12)}, adapted from ${r.baseModelHash.slice(0, 12)}`,
        ].join('\n') + '\n',
      );
    } finally {
      project.close();
    }
  },
};
