// The 'diffusion' generator of `defectforge eval`: AnomalyDiffusion as the product runs it. For
// each defect type of the category it takes the project's learned anomaly embedding for the model
// (learning what is missing first, within the evaluation's time budget, through the same learning
// stages as augmentation: src/main/augment/learning.ts, jobs recorded in the project), the type's
// mask source, and makes every pair with the synthesis pair maker (src/engine/synthesis/
// make-pair.ts). The pair, at the normal image's own size, is stored as the sample (with a recipe in
// its lineage, so `defectforge regenerate` makes it again); the inspector gets it at the working
// resolution, resized as the evaluation's normal images are.
import { UserError } from '../../shared/errors';
import type { Rng } from '../../shared/random';
import { SYNTHESIS_DEFAULTS } from '../../main/augment/augment';
import { readModelInfo, type ModelInfo } from '../../main/augment/conditioning';
import { learnMissing, learnSettings, type TypeLearning } from '../../main/augment/learning';
import { LocalJobs } from '../../main/augment/local-jobs';
import { checkMaterial, resolveTypes, typeMaterial, type AugmentType } from '../../main/augment/types';
import { openProject, type Project } from '../../main/store/project';
import { recordModel } from '../../main/store/samples';
import { loadBuiltinModel, type BuiltinModel } from '../models/builtin/load';
import { EmbeddingCache } from '../synthesis/conditioning';
import { pairArtifacts } from '../synthesis/job';
import { makePair } from '../synthesis/make-pair';
import { ReconstructionCache } from '../synthesis/reconstruction-cache';
import { ProjectMasks } from '../synthesis/mask-source';
import type { PairRecipe } from '../synthesis/recipe';
import type { DefectGenerator, GeneratedPair, GeneratorContext, GeneratorRun, ProjectPicture } from './generator';
import { diffusionModelDir } from './generator-diffusion-model';
import { coverageResize, loadPicture } from './picture';

export const DIFFUSION_GENERATOR = 'diffusion';

interface TypeSetup {
  type: AugmentType;
  learning: TypeLearning;
}

async function learnTypes(project: Project, run: GeneratorRun, model: ModelInfo): Promise<Map<string, TypeSetup>> {
  const types = resolveTypes(project).filter((t) => t.category === run.category);
  const jobs = new LocalJobs(project.db);
  const settings = learnSettings(project);
  const deadline = run.budgetSeconds !== undefined && !run.reproducible ? Date.now() + run.budgetSeconds * 1000 : undefined;
  const byName = new Map<string, TypeSetup>();
  for (const type of types) {
    checkMaterial(type, typeMaterial(project, type));
    const learning = await learnMissing(project, type, model, jobs, {
      settings,
      ...(deadline !== undefined ? { deadline } : {}),
      hooks: { ...(run.signal ? { signal: run.signal } : {}), onStage: (m) => run.log?.(`diffusion: ${m}`) },
    });
    byName.set(type.name, { type, learning });
  }
  return byName;
}

export async function createDiffusionGenerator(ctx: GeneratorContext): Promise<DefectGenerator> {
  const run = ctx.run;
  if (!run) throw new UserError('GENERATOR_CONTEXT', "generator 'diffusion' learns from the project: it runs inside an evaluation of a project");
  // its own connection: the learning jobs and the pairs' blobs go through the project store
  const project = openProject(run.project.dir);
  let loaded: BuiltinModel | undefined;
  let masks: ProjectMasks | undefined;
  const release = async (): Promise<void> => {
    await masks?.release();
    await loaded?.release();
    project.close();
  };
  try {
    const model = await readModelInfo(diffusionModelDir({ ...run, project }));
    const types = await learnTypes(project, run, model);
    const built = await loadBuiltinModel(model.dir);
    loaded = built;
    recordModel(project, { name: built.facts.name, kind: built.facts.kind, path: built.dir, contentHash: built.facts.contentHash, manifest: built.manifest });
    const pairMasks = new ProjectMasks(project, built);
    masks = pairMasks;
    const blobs = { read: (h: string) => project.blobs.read(h), path: (h: string) => project.blobs.path(h) };
    const embeddings = new EmbeddingCache(blobs);
    const reconstructions = new ReconstructionCache();
    const blobOf = project.db.prepare('SELECT blob_hash FROM images WHERE id = ?').pluck();
    const sampler = { sampler: SYNTHESIS_DEFAULTS.sampler, steps: SYNTHESIS_DEFAULTS.steps, eta: 1 };
    const settings = {
      model: { name: built.facts.name, contentHash: built.facts.contentHash },
      sampler,
      guidance: SYNTHESIS_DEFAULTS.guidance,
      aar: SYNTHESIS_DEFAULTS.aar,
      restoreDetail: SYNTHESIS_DEFAULTS.restoreDetail,
      types: Object.fromEntries([...types].map(([name, s]) => [name, { conditioning: s.learning.conditioning, maskSource: s.learning.maskSource, learned: s.learning.learned }])),
    };
    return {
      name: DIFFUSION_GENERATOR,
      settings,
      async generate(normal: ProjectPicture, defectType: string, rng: Rng): Promise<GeneratedPair> {
        const setup = types.get(defectType);
        if (!setup) throw new UserError('EVAL_UNKNOWN_TYPE', `generator 'diffusion': category '${run.category}' has no defect type '${defectType}'`);
        const blob = blobOf.get(normal.imageId) as string | undefined;
        if (!blob) throw new UserError('IMAGE_NOT_FOUND', `generator 'diffusion': image ${normal.imageId} is not in the project`);
        // fixed draw order: mask seed, generation seed
        const maskSeed = rng.nextU32();
        const recipe: PairRecipe = {
          normal: { imageId: normal.imageId, blob },
          mask: { ...setup.learning.maskSource, defectTypeId: setup.type.id, seed: maskSeed },
          conditioning: setup.learning.conditioning,
          seed: rng.nextU32(),
          sampler,
          guidance: SYNTHESIS_DEFAULTS.guidance,
          aar: { ...SYNTHESIS_DEFAULTS.aar, enabled: setup.type.aar },
          strength: 1,
          restoreDetail: SYNTHESIS_DEFAULTS.restoreDetail,
        };
        const pair = await makePair(built, blobs, recipe, embeddings, pairMasks, run.signal, reconstructions);
        const fullMask = { width: pair.image.width, height: pair.image.height, data: Uint8Array.from(pair.mask, (v) => (v > 0 ? 1 : 0)) };
        return {
          // decoded and resized as the evaluation's normal images are (loadPicture): away from the
          // mask the pair holds the normal image's bytes, so there it equals the working-size normal
          image: await loadPicture(pair.imagePng, `generator 'diffusion': the pair made on image ${normal.imageId}`, ctx.width, ctx.height),
          mask: coverageResize(fullMask, ctx.width, ctx.height),
          lineage: {
            normalImageId: normal.imageId,
            sourceImageIds: [],
            maskOrigin: pair.maskOrigin.kind,
            sampled: { seed: recipe.seed, maskSeed },
            model: {
              maskSource: pair.maskOrigin,
              artifactIds: pairArtifacts(recipe),
              modelHash: built.facts.contentHash,
              sampler: {
                recipe,
                generation: pair.result.settings,
                conditioning: pair.conditioning,
                model: { name: built.facts.name, kind: built.facts.kind, path: built.dir },
                ...(pair.resizedFrom ? { resizedFrom: pair.resizedFrom } : {}),
                ...(pair.window ? { window: pair.window } : {}),
              },
              executionProvider: built.provider,
            },
          },
          files: { imagePng: pair.imagePng, maskPng: pair.maskPng },
        };
      },
      release,
    };
  } catch (e) {
    await release();
    throw e;
  }
}
