// defectforge demo [--out dir]: the whole product on the procedural dataset. Writes a small MVTec-
// layout corpus (a texture and an object family; a third of each type's defect images are the
// "real" few shots, the rest held out), makes a project from it, runs the one-click augmentation
// on the embedded default model (adapting it to the normal images first, with a small step
// budget) and writes the export plus summary.html (normal, mask and
// synthetic image per pair, per defect type).
//   <out>/dataset  <out>/project  <out>/export/<format>  <out>/summary.html  <out>/summary/...
import { existsSync } from 'node:fs';
import { mkdir } from 'node:fs/promises';
import path from 'node:path';
import { writeFileAtomic } from '../../engine/autodiff/checkpoint';
import { EXPORT_FORMATS } from '../../engine/export';
import { summaryHtml, type SummarySection } from '../../engine/synthesis/summary-html';
import { createProject } from '../../main/store/project';
import { typeSamples } from '../../main/store/samples';
import { UserError } from '../../shared/errors';
import type { CommandSpec } from '../command';
import { adaptChoice, augmentWithEngine, describeAdaptation, listOption, wholeNumber } from './augment';
import { DEFAULT_MODEL_NAME, defaultModelDir } from '../../main/default-model';

export const DEMO_FAMILIES = ['wood', 'hex_nut'];

/** Defect-learning steps per type in the demo: ~10 types x 120 steps take ~4 min of CPU with the
 *  default model (the full default, 500, would take the demo past its 15-minute budget). */
export const DEMO_LEARN_STEPS = 120;

/** Adaptation steps in the demo (the full default is 1000): LoRA at batch 4 on 16 normal images;
 *  early stopping checks the held-out loss every DEMO_ADAPT_EVAL_EVERY steps. */
export const DEMO_ADAPT_STEPS = 60;
export const DEMO_ADAPT_EVAL_EVERY = 20;

export const demoCommand: CommandSpec = {
  name: 'demo',
  summary: 'run the whole pipeline on a procedural demo dataset and write an HTML summary',
  positionals: [],
  options: {
    out: { type: 'string', valueName: 'dir', description: 'demo folder, must not exist (default: ./defectforge-demo)' },
    'per-type': { type: 'string', valueName: 'n', description: 'synthetic pairs per defect type (default 4)' },
    steps: { type: 'string', valueName: 'n', description: 'sampler steps per pair (default 20)' },
    families: { type: 'string', valueName: 'list', description: `procedural families (default ${DEMO_FAMILIES.join(',')})` },
    'defects-per-type': { type: 'string', valueName: 'n', description: 'real defect images per type; a third are the few shots (default 6)' },
    'train-good': { type: 'string', valueName: 'n', description: 'normal training images per family (default 8)' },
    model: { type: 'string', valueName: 'dir', description: `model package (default: the embedded ${DEFAULT_MODEL_NAME})` },
    seed: { type: 'string', valueName: 'n', description: 'seed of the dataset and the synthesis (default 1)' },
    'learn-steps': { type: 'string', valueName: 'n', description: `training steps of defect learning per type (default ${DEMO_LEARN_STEPS}: keeps the demo under 15 minutes on 2 cores)` },
    'adapt-steps': { type: 'string', valueName: 'n', description: `most steps of the model's adaptation to the normal images (default ${DEMO_ADAPT_STEPS})` },
    'no-adapt': { type: 'boolean', description: 'use the model as it is, without adaptation' },
  },
  async run({ options }, io) {
    const str = (name: string): string | undefined => (typeof options[name] === 'string' ? (options[name] as string) : undefined);
    const out = path.resolve(io.cwd, str('out') ?? 'defectforge-demo');
    const perType = wholeNumber('per-type', str('per-type'), 1) ?? 4;
    const steps = wholeNumber('steps', str('steps'), 1) ?? 20;
    const defectsPerType = wholeNumber('defects-per-type', str('defects-per-type'), 2) ?? 6;
    const trainGood = wholeNumber('train-good', str('train-good'), 1) ?? 8;
    const seed = wholeNumber('seed', str('seed'), 0) ?? 1;
    const learnSteps = wholeNumber('learn-steps', str('learn-steps'), 1) ?? DEMO_LEARN_STEPS;
    const adapt = adaptChoice(options);
    const adaptSteps = wholeNumber('adapt-steps', str('adapt-steps'), 1) ?? DEMO_ADAPT_STEPS;
    const families = listOption(str('families')) ?? DEMO_FAMILIES;
    const model = str('model') !== undefined ? path.resolve(io.cwd, str('model')!) : defaultModelDir();
    if (!existsSync(path.join(model, 'manifest.json'))) {
      throw new UserError(
        'DEMO_MODEL_MISSING',
        str('model') !== undefined
          ? `${model}: not a DefectForge model package (no manifest.json)`
          : `the embedded default model is not at ${model}; make it with \`npm run train:base\` (it pretrains on this machine's CPU and exports it there), or pass --model <dir>`,
      );
    }
    if (existsSync(out)) throw new UserError('DEMO_EXISTS', `${out} already exists; choose another --out (the demo never writes into an existing folder)`);
    const started = performance.now();

    io.stderr(`writing the procedural dataset (${families.join(', ')})\n`);
    const { writeMvtecCorpus } = await import('../../engine/corpus');
    const datasetDir = path.join(out, 'dataset');
    await writeMvtecCorpus(datasetDir, { seed, families, trainGood, testGood: Math.max(1, Math.floor(trainGood / 2)), defectsPerType });

    io.stderr('importing it into a project\n');
    const project = createProject(path.join(out, 'project'), { name: 'DefectForge demo' });
    try {
      const { importDataset } = await import('../../main/import');
      await importDataset(project, datasetDir, { layout: 'mvtec', signal: io.signal });
      const exportDir = path.join(out, 'export');
      const report = await augmentWithEngine(project, {
          perType,
          out: exportDir,
          formats: EXPORT_FORMATS,
          model,
          seed,
          steps,
          learning: { defect: { steps: learnSteps }, mask: { steps: learnSteps } },
          adapt,
          adaptation: { steps: adaptSteps, evalEvery: Math.min(DEMO_ADAPT_EVAL_EVERY, adaptSteps) },
        }, io);

      io.stderr('writing summary.html\n');
      const sections: SummarySection[] = [];
      const types = project.db.prepare('SELECT id, category, name FROM defect_types ORDER BY category, name').all() as { id: number; category: string; name: string }[];
      for (const t of types) {
        const label = `${t.category}/${t.name}`;
        const outcome = report.types.find((o) => o.type === label);
        const rows = [];
        for (const s of typeSamples(project, t.id, report.model.contentHash, perType)) {
          const normalId = s.lineage!.normalImageId!;
          const normalBlob = (project.db.prepare('SELECT blob_hash FROM images WHERE id = ?').get(normalId) as { blob_hash: string }).blob_hash;
          const folder = `summary/${t.category}/${t.name}`;
          const files = { normal: `${folder}/${s.id}_normal.png`, mask: `${folder}/${s.id}_mask.png`, synthetic: `${folder}/${s.id}_synthetic.png` };
          await mkdir(path.join(out, ...folder.split('/')), { recursive: true });
          await writeFileAtomic(path.join(out, ...files.normal.split('/')), project.blobs.read(normalBlob));
          await writeFileAtomic(path.join(out, ...files.mask.split('/')), project.blobs.read(s.maskBlob));
          await writeFileAtomic(path.join(out, ...files.synthetic.split('/')), project.blobs.read(s.imageBlob));
          rows.push({ sampleId: s.id, seed: s.lineage!.seed, ...files });
        }
        sections.push({ type: label, conditioning: outcome?.conditioning ?? '', rows });
      }
      const seconds = (performance.now() - started) / 1000;
      const facts: [string, string][] = [
        ['model', `${report.model.name} (${report.model.contentHash.slice(0, 12)}) at ${report.model.dir}`],
        ['adaptation', describeAdaptation(report.adaptation).replace(/^adaptation: /, '')],
        ['pairs per type', String(perType)],
        ['sampler steps', String(steps)],
        ['exported', `${report.export.formats.join(', ')} in export/`],
        ['time', `${seconds.toFixed(0)} s`],
      ];
      await writeFileAtomic(path.join(out, 'summary.html'), new TextEncoder().encode(summaryHtml('DefectForge demo', facts, sections)));
      io.stdout(`demo written to ${out} in ${seconds.toFixed(0)} s: open ${path.join(out, 'summary.html')}\n`);
    } finally {
      project.close();
    }
  },
};
