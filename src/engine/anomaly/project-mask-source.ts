// A MaskSource for one defect type of a project: what the synthesis job calls. Loads what the
// chosen source needs (the type's training masks, its drawn masks, or its newest mask embedding
// and the model it was trained against) and wraps it in the foreground constraint.

import { UserError } from '../../shared/errors';
import type { Project } from '../../main/store/project';
import { loadBuiltinModel, type BuiltinModel } from '../models/builtin/load';
import { detectModelFolder } from '../models/load';
import { latestMaskEmbedding } from './learn-mask';
import { DEFAULT_MASK_SAMPLING, type MaskSamplingSettings } from './mask-sampling';
import {
  DEFAULT_FOREGROUND,
  DEFAULT_PERLIN_MASK,
  DEFAULT_REAL_MASK,
  learnedMaskSource,
  perlinMaskSource,
  storedMaskSource,
  withForeground,
  type ForegroundOptions,
  type MaskSource,
  type MaskSourceKind,
  type RealMaskOptions,
} from './mask-sources';
import { loadDrawnMasks, loadTrainingPairs, type DefectTypeRef } from './training-set';

export interface ProjectMaskSourceOptions {
  /** 'learned': an already loaded model (else `modelDir` is opened and released with the source) */
  model?: BuiltinModel;
  modelDir?: string;
  sampling?: MaskSamplingSettings;
  real?: RealMaskOptions;
  foreground?: ForegroundOptions;
  /** 'real' / 'drawn': only these stored masks (every id must be one of the type's) */
  maskIds?: readonly number[];
}

export interface OpenMaskSource {
  source: MaskSource;
  release(): Promise<void>;
}

/** The stored masks a request names (all of them when it names none); an id the type lacks is an error. */
function chosen<M extends { id: number }>(type: DefectTypeRef, kind: 'real' | 'drawn', masks: M[], ids: readonly number[] | undefined): M[] {
  if (ids === undefined) return masks;
  const byId = new Map(masks.map((m) => [m.id, m]));
  const missing = ids.filter((id) => !byId.has(id));
  if (missing.length > 0) throw new UserError('MASK_NOT_FOUND', `${type.label}: ${kind} mask id(s) ${missing.join(', ')} are not among this defect type's ${kind} masks`);
  return ids.map((id) => byId.get(id)!);
}

export async function openMaskSource(project: Project, type: DefectTypeRef, kind: MaskSourceKind, options: ProjectMaskSourceOptions = {}): Promise<OpenMaskSource> {
  const constrained = (source: MaskSource, release: () => Promise<void> = async () => {}): OpenMaskSource => ({ source: withForeground(source, options.foreground ?? DEFAULT_FOREGROUND), release });
  switch (kind) {
    case 'perlin':
      return constrained(perlinMaskSource(DEFAULT_PERLIN_MASK));
    case 'real': {
      const { pairs } = await loadTrainingPairs(project, type);
      const masks = pairs.map((p) => ({ id: p.maskIds[0]!, width: p.image.width, height: p.image.height, data: p.mask }));
      return constrained(storedMaskSource('real', chosen(type, 'real', masks, options.maskIds), options.real ?? DEFAULT_REAL_MASK));
    }
    case 'drawn': {
      const masks = (await loadDrawnMasks(project, type)).map((m) => ({ id: m.maskId, width: m.width, height: m.height, data: m.data }));
      return constrained(storedMaskSource('drawn', chosen(type, 'drawn', masks, options.maskIds), { flips: false, scale: [1, 1], shift: false }));
    }
    case 'learned': {
      const saved = latestMaskEmbedding(project, type.id);
      if (!saved) throw new UserError('NO_MASK_EMBEDDING', `${type.label}: no mask embedding trained yet; run 'defectforge masks <project> --type ${type.label} --learn' first, or use real masks`);
      let model = options.model;
      let owned = false;
      if (!model) {
        if (!options.modelDir) throw new UserError('BAD_ARGS', 'learned masks need the model the mask embedding was trained against');
        if ((await detectModelFolder(options.modelDir)) !== 'builtin') {
          throw new UserError('MASKS_UNSUPPORTED', `${type.label}: learned masks are sampled with a DefectForge model package; ${options.modelDir} is an SD 1.x folder: use the real, perlin or drawn mask source for this type`);
        }
        model = await loadBuiltinModel(options.modelDir);
        owned = true;
      }
      if (saved.embedding.modelHash !== model.facts.contentHash) {
        if (owned) await model.release();
        throw new UserError('EMBEDDING_MODEL_MISMATCH', `${type.label}: the mask embedding (version ${saved.version}) was trained against model ${saved.embedding.modelHash.slice(0, 12)}, not '${model.facts.name}' (${model.facts.contentHash.slice(0, 12)})`);
      }
      const loaded = model;
      const source = learnedMaskSource(loaded, saved.embedding.anomaly.data, { id: saved.artifactId, version: saved.version }, options.sampling ?? DEFAULT_MASK_SAMPLING);
      return constrained(source, async () => {
        if (owned) await loaded.release();
      });
    }
    default:
      throw new UserError('BAD_ARGS', `unknown mask source '${String(kind)}'`);
  }
}
