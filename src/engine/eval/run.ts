// One evaluation run (METHOD.md, Evaluation): for each training source, one inspector on the same
// normal images, step count and seed; each is tested on test/good plus the held-out two thirds
// of every defect type. Synthetic pairs are stored in the project with their lineage under one
// 'eval' job. Returns everything the report shows.
import type { Database } from 'better-sqlite3';
import { JobStore } from '../../main/jobs/job-store';
import { Rng } from '../../shared/random';
import { UserError } from '../../shared/errors';
import { deriveSeed } from '../corpus/seed';
import { onnxruntimeVersion } from '../runtime';
import { chooseCategory, loadCategory, type BlobReader, type CategoryData, type TestImage } from './dataset';
import type { DefectGenerator, GeneratedPair, GeneratorRun } from './generator';
import { parseSources, type SourceEntry } from './generators';
import { imageScore, inspectPictures, poolingWindow, trainInspector, type TrainingPair } from './inspector/train';
import { exactGroups, exactRankingMetrics, PixelMetricsAccumulator, prPoints, rocPoints, type PixelMetrics } from './metrics';
import { trainAndTestClassifier, type LabelledPair } from './classifier';
import { diversity, maskAlignment, type Diversity } from './quality';
import { storeSamples, type StoredPair } from './generator-samples';

export interface EvalSettings {
  generators: string;
  category?: string;
  seed: number;
  /** training minutes per inspector; sets the step count after timing the first steps */
  budgetMinutes: number;
  /** a fixed step count instead (reproducible on any machine) */
  steps?: number;
  pairsPerType: number;
  /** working resolution: about this many pixels */
  pixels: number;
  batch: number;
  lr: number;
  baseChannels: number;
  levels: number;
  classifierSteps: number;
  /** model package of the 'diffusion' generator (default: the model its learned artifacts were trained against) */
  model?: string;
}

export const EVAL_DEFAULTS: Omit<EvalSettings, 'generators'> = {
  seed: 0,
  budgetMinutes: 4,
  pairsPerType: 100,
  pixels: 128 * 128,
  batch: 8,
  lr: 2e-3,
  baseChannels: 8,
  levels: 4,
  classifierSteps: 150,
};

export interface EvalProject {
  dir: string;
  db: Database;
  blobs: BlobReader & { put(bytes: Uint8Array, mediaType: string): string };
}

export interface MetricTriple {
  auroc: number;
  ap: number;
  f1Max: number;
}

export interface TypeResult {
  /** a defect type, or 'all' (every held-out defect against test/good) */
  defectType: string;
  goodImages: number;
  defectImages: number;
  image: MetricTriple;
  pixel: MetricTriple & { auPro: number; bounds: PixelMetrics['bounds']; auProBound: number };
  curves: { imageRoc: [number, number][]; imagePr: [number, number][]; pixelRoc: [number, number][]; pixelPr: [number, number][] };
}

export interface SourceResult {
  name: string;
  description: string;
  trainingPairs: number;
  sampleIds: number[];
  quality: { maskAlignment: number; diversity: Diversity };
  losses: number[];
  steps: number;
  trainingSeconds: number;
  results: TypeResult[];
  /** defect-type classification (null when the category has a single defect type) */
  classifier: { accuracy: number; confusion: number[][]; types: string[] } | null;
  /** for the report's pictures (not in report.json) */
  examples: { pairs: { picture: TrainingPair['picture']; mask: TrainingPair['mask'] }[]; maps: Map<number, Float32Array> };
}

export interface EvalResult {
  category: string;
  jobId: number;
  width: number;
  height: number;
  poolingWindow: number;
  steps: number;
  settings: EvalSettings;
  data: CategoryData;
  sources: SourceResult[];
  versions: { onnxruntime: string; app: string };
}

export interface EvalHooks {
  log?: (message: string) => void;
  onStep?: (source: string, step: number, total: number, loss: number) => void;
  signal?: AbortSignal;
  appVersion: string;
}

/** The 'none' pool: the real training defects. */
function realPairs(data: CategoryData): TrainingPair[] {
  return data.trainDefects.map((d) => ({ picture: d.picture, mask: d.mask }));
}

async function syntheticPairs(
  source: SourceEntry,
  data: CategoryData,
  settings: EvalSettings,
  typeIds: Map<string, number>,
  run: GeneratorRun,
): Promise<{ generator: DefectGenerator; pairs: GeneratedPair[]; stored: StoredPair[]; normals: TrainingPair['picture'][] }> {
  const generator = await source.create!({ width: data.width, height: data.height, trainDefects: data.trainDefects, seed: settings.seed, run });
  const pairs: GeneratedPair[] = [];
  const stored: StoredPair[] = [];
  const normals: TrainingPair['picture'][] = [];
  try {
    for (const type of data.defectTypes) {
      for (let k = 0; k < settings.pairsPerType; k++) {
        run.signal?.throwIfAborted();
        const seed = deriveSeed(settings.seed, 'eval-pair', source.name, type, k);
        const rng = new Rng(seed);
        const normal = data.trainGood[rng.int(data.trainGood.length)]!;
        const pair = await generator.generate(normal, type, rng);
        pairs.push(pair);
        normals.push(normal.picture);
        stored.push({ pair, defectTypeId: typeIds.get(type)!, seed, indexInJob: 0 });
      }
    }
  } finally {
    await generator.release?.();
  }
  return { generator, pairs, stored, normals };
}

function typeResult(defectType: string, tests: readonly TestImage[], maps: readonly Float32Array[], scores: readonly number[], width: number, height: number): TypeResult {
  const pixel = new PixelMetricsAccumulator();
  const labels: number[] = [];
  tests.forEach((t, i) => {
    pixel.add(maps[i]!, t.mask.data, width, height);
    labels.push(t.defectType === null ? 0 : 1);
  });
  const image = exactRankingMetrics(scores, labels);
  const groups = exactGroups(scores, labels);
  const p = pixel.metrics();
  return {
    defectType,
    goodImages: labels.filter((l) => l === 0).length,
    defectImages: labels.filter((l) => l === 1).length,
    image: { auroc: image.auroc, ap: image.ap, f1Max: image.f1Max },
    pixel: { auroc: p.auroc, ap: p.ap, f1Max: p.f1Max, auPro: p.auPro.auPro, bounds: p.bounds, auProBound: p.auPro.bound },
    curves: { imageRoc: rocPoints(groups), imagePr: prPoints(groups), pixelRoc: pixel.roc(200), pixelPr: pixel.pr(200) },
  };
}

export async function runEvaluation(project: EvalProject, settings: EvalSettings, hooks: EvalHooks): Promise<EvalResult> {
  const log = hooks.log ?? (() => {});
  const sources = parseSources(settings.generators);
  if (!(settings.pairsPerType >= 1 && Number.isInteger(settings.pairsPerType))) throw new UserError('BAD_ARGS', `--pairs must be a whole number >= 1, got ${settings.pairsPerType}`);
  if (settings.steps !== undefined && !(Number.isInteger(settings.steps) && settings.steps >= 1)) throw new UserError('BAD_ARGS', `--steps must be a whole number >= 1, got ${settings.steps}`);
  if (!(settings.pixels >= 64)) throw new UserError('BAD_ARGS', `--size must be at least 8 (got a working area of ${settings.pixels} pixels)`);
  if (!(Number.isInteger(settings.classifierSteps) && settings.classifierSteps >= 1)) throw new UserError('BAD_ARGS', `--classifier-steps must be a whole number >= 1, got ${settings.classifierSteps}`);
  if (!(settings.budgetMinutes > 0)) throw new UserError('BAD_ARGS', `--budget-minutes must be > 0, got ${settings.budgetMinutes}`);

  const category = chooseCategory(project.db, settings.category, project.dir);
  for (const source of sources) source.preflight?.({ project, category, ...(settings.model !== undefined ? { model: settings.model } : {}) });
  const multiple = 2 ** (settings.levels - 1);
  log(`loading category '${category}'`);
  const data = await loadCategory(project.db, project.blobs, category, { pixels: settings.pixels, multiple });
  const config = { width: data.width, height: data.height, base: settings.baseChannels, levels: settings.levels, groups: Math.min(4, settings.baseChannels), seed: settings.seed };
  const window = poolingWindow(data.width, data.height);
  log(`${data.trainGood.length} normal training images, ${data.trainDefects.length} training defects, ${data.test.length} test images at ${data.width}x${data.height}`);
  const typeIds = new Map(
    (project.db.prepare('SELECT name, id FROM defect_types WHERE category = ?').all(category) as { name: string; id: number }[]).map((r) => [r.name, r.id]),
  );

  const jobs = new JobStore(project.db);
  const jobId = jobs.insert('eval', { ...settings, category });
  jobs.markRunning(jobId);
  const versions = { onnxruntime: onnxruntimeVersion(), app: hooks.appVersion };
  let steps = settings.steps;
  const results: SourceResult[] = [];
  let sampleIndex = 0;
  try {
    for (const source of sources) {
      let pool: TrainingPair[];
      let poolTypes: string[];
      let sampleIds: number[] = [];
      let alignment = Number.NaN;
      if (source.create) {
        log(`${source.name}: generating ${settings.pairsPerType} pairs per defect type`);
        const run: GeneratorRun = {
          project,
          category,
          ...(settings.model !== undefined ? { model: settings.model } : {}),
          // learning (where a generator needs it) gets the same time as one inspector's training
          ...(settings.steps === undefined ? { budgetSeconds: settings.budgetMinutes * 60 } : {}),
          reproducible: settings.steps !== undefined,
          appVersion: hooks.appVersion,
          ...(hooks.signal ? { signal: hooks.signal } : {}),
          log,
        };
        const { generator, pairs, stored, normals } = await syntheticPairs(source, data, settings, typeIds, run);
        for (const s of stored) s.indexInJob = sampleIndex++;
        sampleIds = await storeSamples(project, jobId, generator, stored, versions);
        pool = pairs.map((p) => ({ picture: p.image, mask: p.mask }));
        poolTypes = data.defectTypes.flatMap((t) => new Array<string>(settings.pairsPerType).fill(t));
        alignment = pairs.reduce((a, p, i) => a + maskAlignment(p.image, normals[i]!, p.mask), 0) / pairs.length;
      } else {
        pool = realPairs(data);
        poolTypes = data.trainDefects.map((d) => d.defectType);
        if (pool.length === 0) throw new UserError('EVAL_NO_DEFECTS', `category '${category}' has no training defects (first third of each type) for 'none'`);
      }
      log(`${source.name}: training the inspector${steps ? ` for ${steps} steps` : ` for about ${settings.budgetMinutes} min`}`);
      const trained = await trainInspector(
        data.trainGood.map((n) => n.picture),
        pool,
        {
          config,
          batch: settings.batch,
          lr: settings.lr,
          steps: steps ?? Number.MAX_SAFE_INTEGER,
          ...(steps === undefined ? { stepsFromBudget: (perStep: number) => Math.max(1, Math.floor((settings.budgetMinutes * 60) / perStep)) } : {}),
          seed: deriveSeed(settings.seed, 'inspector'),
          ...(hooks.signal ? { signal: hooks.signal } : {}),
          onStep: (step, total, loss) => hooks.onStep?.(source.name, step, total, loss),
        },
      );
      // the first inspector's timing fixes the step count for all, so every source gets the same
      steps ??= trained.steps;
      log(`${source.name}: ${trained.steps} steps in ${trained.seconds.toFixed(0)} s, final loss ${trained.losses.at(-1)!.toFixed(4)}; testing`);
      const maps = await inspectPictures(trained, data.test.map((t) => t.picture));
      const scores = maps.map((m) => imageScore(m, data.width, data.height, window));
      const typeResults: TypeResult[] = [];
      const goods = data.test.map((t, i) => ({ t, i })).filter(({ t }) => t.defectType === null);
      for (const type of [...data.defectTypes, 'all']) {
        const chosen = [...goods, ...data.test.map((t, i) => ({ t, i })).filter(({ t }) => t.defectType !== null && (type === 'all' || t.defectType === type))];
        typeResults.push(typeResult(type, chosen.map((c) => c.t), chosen.map((c) => maps[c.i]!), chosen.map((c) => scores[c.i]!), data.width, data.height));
      }
      let classifier: SourceResult['classifier'] = null;
      if (data.defectTypes.length >= 2) {
        log(`${source.name}: defect-type classifier, ${settings.classifierSteps} steps`);
        const label = (t: string): number => data.defectTypes.indexOf(t);
        const heldOut: LabelledPair[] = data.test.filter((t) => t.defectType !== null).map((t) => ({ picture: t.picture, mask: t.mask, label: label(t.defectType!) }));
        const c = await trainAndTestClassifier(
          pool.map((p, i) => ({ ...p, label: label(poolTypes[i]!) })),
          heldOut,
          { classes: data.defectTypes.length, width: data.width, height: data.height, channels: 8, batch: 8, steps: settings.classifierSteps, lr: 3e-3, seed: deriveSeed(settings.seed, 'classifier') },
        );
        classifier = { accuracy: c.accuracy, confusion: c.confusion, types: [...data.defectTypes] };
      }
      const exampleMaps = new Map<number, Float32Array>();
      data.test.forEach((t, i) => exampleMaps.set(t.imageId, maps[i]!));
      results.push({
        name: source.name,
        description: source.description,
        trainingPairs: pool.length,
        sampleIds,
        quality: { maskAlignment: alignment, diversity: diversity(pool) },
        losses: trained.losses,
        steps: trained.steps,
        trainingSeconds: trained.seconds,
        results: typeResults,
        classifier,
        examples: { pairs: pool.slice(0, 4), maps: exampleMaps },
      });
    }
  } catch (e) {
    jobs.markFailed(jobId, (e as Error).message);
    throw e;
  }
  jobs.markSucceeded(
    jobId,
    results.map((r) => ({ generator: r.name, imageAuroc: r.results.at(-1)!.image.auroc, pixelAuroc: r.results.at(-1)!.pixel.auroc })),
  );
  return { category, jobId, width: data.width, height: data.height, poolingWindow: window, steps: steps!, settings, data, sources: results, versions };
}
