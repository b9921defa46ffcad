// The synthesis job: every pair of a plan that the run has not committed yet, one after the
// other. Each pair is committed on its own (blob files, then blob rows + samples row + lineage
// row in one transaction), so a stop (cancel, crash, power cut) loses at most the pair in flight.
// Resuming runs the same plan again under the same run id: committed indices are skipped and the
// others are made from their per-index recipes, so the result is the same set of pairs, byte for
// byte, as an uninterrupted run. Pairs are generated one at a time: a batched UNet call would give
// results that depend on the batch's composition, and regenerate must reproduce a pair alone.
import type { Project } from '../../main/store/project';
import { committedIndices, insertSample, recordModel } from '../../main/store/samples';
import { modelRecord } from '../models/load';
import { onnxruntimeVersion } from '../runtime';
import { UserError } from '../../shared/errors';
import { EmbeddingCache, type ConditionableModel } from './conditioning';
import { GENERATOR, makePair } from './make-pair';
import { ReconstructionCache } from './reconstruction-cache';
import { ProjectMasks } from './mask-source';
import { checkPlan, pairRecipe, totalPairs, typeAt, type PairRecipe, type SynthesisPlan } from './recipe';

export interface SynthesisRunOptions {
  /** the job whose samples these are (samples.job_id); a resumed run passes the first job's id */
  runJobId: number;
  appVersion: string;
  signal?: AbortSignal;
  /** after every committed pair: pairs done (committed before or now) of total */
  onProgress?: (done: number, total: number, etaSeconds: number) => void;
  /** stop after this many new pairs (tests and benchmarks simulate an interruption with it) */
  stopAfter?: number;
}

export interface SynthesisRunResult {
  total: number;
  /** pairs this call made */
  made: number;
  /** pairs an earlier attempt had already committed */
  alreadyDone: number;
  sampleIds: number[];
  seconds: number;
}

export async function runSynthesis(project: Project, model: ConditionableModel, plan: SynthesisPlan, options: SynthesisRunOptions): Promise<SynthesisRunResult> {
  checkPlan(plan);
  checkPlanSize(plan, model);
  const started = performance.now();
  const total = totalPairs(plan);
  const done = new Set(committedIndices(project, options.runJobId));
  const alreadyDone = done.size;
  recordModel(project, modelRecord(model));
  const blobs = { read: (h: string) => project.blobs.read(h), path: (h: string) => project.blobs.path(h) };
  const embeddings = new EmbeddingCache(blobs);
  const runtime = { executionProvider: model.provider, onnxruntime: onnxruntimeVersion() };
  const masks = new ProjectMasks(project, model);
  const reconstructions = new ReconstructionCache();
  const sampleIds: number[] = [];
  let made = 0;
  try {
    for (let index = 0; index < total; index++) {
      if (done.has(index)) continue;
      if (options.stopAfter !== undefined && made >= options.stopAfter) break;
      options.signal?.throwIfAborted();
      const recipe = pairRecipe(plan, index);
      const pair = await makePair(model, blobs, recipe, embeddings, masks, options.signal, reconstructions);
      const imageHash = await project.blobs.writeFile(pair.imagePng);
      const maskHash = await project.blobs.writeFile(pair.maskPng);
      const type = typeAt(plan, index);
      const id = insertSample(project, {
        jobId: options.runJobId,
        indexInJob: index,
        defectTypeId: type.defectTypeId,
        image: { hash: imageHash, size: pair.imagePng.length },
        mask: { hash: maskHash, size: pair.maskPng.length },
        generator: GENERATOR,
        lineage: {
          normalImageId: recipe.normal.imageId,
          maskOrigin: pair.maskOrigin.kind,
          maskSource: pair.maskOrigin,
          artifactIds: pairArtifacts(recipe),
          modelHash: model.facts.contentHash,
          seed: recipe.seed,
          sampler: {
            recipe,
            generation: pair.result.settings,
            conditioning: pair.conditioning,
            model: { name: model.facts.name, kind: model.facts.kind, path: model.dir, imageSize: model.facts.imageSize },
            ...(pair.resizedFrom ? { resizedFrom: pair.resizedFrom } : {}),
            ...(pair.window ? { window: pair.window } : {}),
            run: { jobSeed: plan.seed, index },
            ...(model.fallbackReason ? { fallbackReason: model.fallbackReason } : {}),
          },
          executionProvider: runtime.executionProvider,
          onnxruntimeVersion: runtime.onnxruntime,
          appVersion: options.appVersion,
        },
      });
      if (id === null) continue; // another attempt committed this index meanwhile: keep its pair
      sampleIds.push(id);
      made++;
      done.add(index);
      const elapsed = (performance.now() - started) / 1000;
      const remaining = total - done.size;
      options.onProgress?.(done.size, total, (elapsed / made) * remaining);
    }
  } finally {
    await masks.release();
  }
  return { total, made, alreadyDone, sampleIds, seconds: (performance.now() - started) / 1000 };
}

/** A plan made for one image size (SD 1.x: the size the folder was opened at) runs only at it. */
function checkPlanSize(plan: SynthesisPlan, model: ConditionableModel): void {
  const size = model.facts.imageSize;
  if (plan.imageSize && (plan.imageSize.width !== size.width || plan.imageSize.height !== size.height)) {
    throw new UserError('IMAGE_SIZE', `synthesis: the plan is for ${plan.imageSize.width}x${plan.imageSize.height} images; model '${model.facts.name}' was opened at ${size.width}x${size.height}`);
  }
}

/** The artifacts a pair was made with: the learned defect embedding, the learned masks' embedding. */
export function pairArtifacts(recipe: PairRecipe): number[] {
  const ids: number[] = [];
  if (recipe.conditioning.kind === 'embedding') ids.push(recipe.conditioning.artifactId);
  if (recipe.mask.kind === 'learned' && recipe.mask.artifactId !== undefined) ids.push(recipe.mask.artifactId);
  return ids;
}
