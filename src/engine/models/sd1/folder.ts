// The files of a Stable Diffusion 1.x ONNX folder (Hugging Face Optimum / diffusers' conversion
// script layout) and the small JSON configs beside the models. Checked before anything loads, so
// a wrong folder fails naming the missing file, not deep inside onnxruntime.

import { createReadStream, promises as fs } from 'node:fs';
import { createHash } from 'node:crypto';
import path from 'node:path';
import { UserError } from '../../../shared/errors';
import { parseSchedulerConfig, type ScheduleConfig } from '../../diffusion/schedule';
import type { TokenizerFiles } from '../clip-tokenizer';

/** SD 1.x's VAE latent scale, used when no config says otherwise. */
export const SD1_LATENT_SCALE = 0.18215;

export const SD1_FILES = {
  modelIndex: 'model_index.json',
  textEncoder: path.join('text_encoder', 'model.onnx'),
  unet: path.join('unet', 'model.onnx'),
  vaeEncoder: path.join('vae_encoder', 'model.onnx'),
  vaeDecoder: path.join('vae_decoder', 'model.onnx'),
  vocab: path.join('tokenizer', 'vocab.json'),
  merges: path.join('tokenizer', 'merges.txt'),
  scheduler: path.join('scheduler', 'scheduler_config.json'),
} as const;

export interface Sd1Folder {
  dir: string;
  /** absolute paths of the model files */
  paths: Record<keyof typeof SD1_FILES, string>;
  tokenizer: TokenizerFiles;
  schedule: ScheduleConfig;
  latentScale: number;
}

async function isFile(file: string): Promise<boolean> {
  return (await fs.stat(file).catch(() => undefined))?.isFile() ?? false;
}

async function readJson(file: string): Promise<unknown> {
  const text = await fs.readFile(file, 'utf8');
  try {
    return JSON.parse(text) as unknown;
  } catch (e) {
    throw new UserError('sd-config', `${file}: not valid JSON (${(e as Error).message})`);
  }
}

/** scaling_factor from the VAE's config.json (Optimum writes one per VAE part), else SD 1.x's. */
async function latentScale(dir: string): Promise<number> {
  for (const part of ['vae_decoder', 'vae_encoder', 'vae']) {
    const file = path.join(dir, part, 'config.json');
    if (!(await isFile(file))) continue;
    const config = (await readJson(file)) as Record<string, unknown>;
    const scale = config['scaling_factor'];
    if (scale === undefined) continue;
    if (typeof scale !== 'number' || !(scale > 0)) throw new UserError('sd-config', `${file}: 'scaling_factor' must be a positive number, got ${JSON.stringify(scale)}`);
    return scale;
  }
  return SD1_LATENT_SCALE;
}

/** Checks the layout and reads the configs; fails naming the first missing or unreadable file. */
export async function readSd1Folder(dir: string): Promise<Sd1Folder> {
  const stat = await fs.stat(dir).catch(() => undefined);
  if (!stat?.isDirectory()) throw new UserError('sd-not-folder', `${dir}: not a folder`);
  const paths = Object.fromEntries(Object.entries(SD1_FILES).map(([k, rel]) => [k, path.join(dir, rel)])) as Sd1Folder['paths'];
  if (!(await isFile(paths.modelIndex))) {
    throw new UserError('sd-not-model-folder', `${dir}: not a Stable Diffusion ONNX folder (no ${SD1_FILES.modelIndex}; export one with optimum-cli export onnx or diffusers' conversion script)`);
  }
  const missing: string[] = [];
  for (const [key, rel] of Object.entries(SD1_FILES)) if (!(await isFile(paths[key as keyof typeof SD1_FILES]))) missing.push(rel);
  if (missing.length > 0) throw new UserError('sd-missing-file', `${dir}: missing ${missing.join(', ')}`);

  const index = await readJson(paths.modelIndex);
  if (typeof index !== 'object' || index === null || Array.isArray(index)) throw new UserError('sd-config', `${paths.modelIndex}: not a JSON object`);
  const vocab = await readJson(paths.vocab);
  if (typeof vocab !== 'object' || vocab === null || Array.isArray(vocab) || !Object.values(vocab).every((v) => Number.isInteger(v))) {
    throw new UserError('sd-config', `${paths.vocab}: expected an object of token -> integer id`);
  }
  let schedule: ScheduleConfig;
  try {
    schedule = parseSchedulerConfig(await readJson(paths.scheduler), paths.scheduler);
  } catch (e) {
    throw e instanceof UserError ? e : new UserError('sd-config', (e as Error).message);
  }
  return {
    dir,
    paths,
    tokenizer: { vocab: vocab as Record<string, number>, merges: await fs.readFile(paths.merges, 'utf8') },
    schedule,
    latentScale: await latentScale(dir),
  };
}

/** SHA-256 over every file under `dir` (relative path, NUL, bytes), in sorted order. */
export async function hashFolder(dir: string): Promise<string> {
  const files: string[] = [];
  const walk = async (sub: string): Promise<void> => {
    for (const entry of await fs.readdir(path.join(dir, sub), { withFileTypes: true })) {
      const rel = path.join(sub, entry.name);
      if (entry.isDirectory()) await walk(rel);
      else if (entry.isFile()) files.push(rel);
    }
  };
  await walk('');
  const hash = createHash('sha256');
  for (const rel of files.sort()) {
    hash.update(rel.split(path.sep).join('/'));
    hash.update('\0');
    for await (const chunk of createReadStream(path.join(dir, rel))) hash.update(chunk as Buffer);
  }
  return hash.digest('hex');
}
