// The masks of synthesis. A plan names each defect type's mask source (learned, real, perlin or
// drawn: the type's setting) and whether masks must stay on the product's foreground; every pair's
// recipe adds its own mask seed. The masks themselves come from the anomaly module's sources
// (src/engine/anomaly/mask-sources.ts, one implementation for synthesis, `defectforge masks` and
// eval), and the origin a source returns is what the sample's lineage records.
// A learned source is pinned to one mask-embedding artifact in the plan, so a resumed run and
// regenerate use the embedding the run started with even after the type's masks were learnt again.
// The foreground ('otsu') is found on the pair's normal image at its full size, so it is a pure
// function of the recipe too.
import { UserError } from '../../shared/errors';
import type { Project } from '../../main/store/project';
import { getArtifact } from '../../main/store/artifacts';
import { decodeEmbedding } from '../anomaly/embedding-file';
import { otsuForeground } from '../anomaly/foreground';
import { DEFAULT_MASK_SAMPLING, type MaskSamplingSettings } from '../anomaly/mask-sampling';
import { DEFAULT_FOREGROUND, learnedMaskSource, MASK_SOURCE_KINDS, withForeground, type MaskSource, type MaskSourceKind, type SourcedMask } from '../anomaly/mask-sources';
import { openMaskSource, type OpenMaskSource } from '../anomaly/project-mask-source';
import type { DefectTypeRef } from '../anomaly/training-set';
import type { RgbImage } from '../diffusion/image-tensor';
import type { BuiltinModel } from '../models/builtin/load';
import type { ConditionableModel } from './conditioning';

export type ForegroundMode = 'none' | 'otsu';
export const FOREGROUND_MODES: readonly ForegroundMode[] = ['none', 'otsu'];

/** A defect type's mask source in a synthesis plan. */
export interface TypeMaskSource {
  kind: MaskSourceKind;
  foreground: ForegroundMode;
  /** 'learned': the mask-embedding artifact to sample from */
  artifactId?: number;
  /** 'learned': the sampling settings */
  sampling?: MaskSamplingSettings;
  /** 'real' / 'drawn': only these stored masks (ids in the masks table), e.g. "use this mask again" */
  maskIds?: number[];
}

/** One pair's mask request (in its recipe). */
export interface MaskSpec extends TypeMaskSource {
  defectTypeId: number;
  seed: number;
}

export type MaskOrigin = SourcedMask['origin'];

/** Checks a type's mask source as a plan carries it; problems name the type. */
export function checkTypeMaskSource(label: string, m: TypeMaskSource | undefined): void {
  if (!m || !MASK_SOURCE_KINDS.includes(m.kind)) throw new UserError('BAD_PARAMS', `${label}: the mask source must be one of ${MASK_SOURCE_KINDS.join(', ')} (got ${JSON.stringify(m?.kind)})`);
  if (!FOREGROUND_MODES.includes(m.foreground)) throw new UserError('BAD_PARAMS', `${label}: the foreground must be one of ${FOREGROUND_MODES.join(', ')} (got ${JSON.stringify(m.foreground)})`);
  if (m.kind === 'learned' && !(Number.isInteger(m.artifactId) && m.artifactId! > 0)) throw new UserError('BAD_PARAMS', `${label}: learned masks need the mask-embedding artifact they are sampled from`);
  if (m.maskIds !== undefined) {
    if (m.kind !== 'real' && m.kind !== 'drawn') throw new UserError('BAD_PARAMS', `${label}: chosen mask ids need the real or drawn mask source (got ${m.kind})`);
    if (!Array.isArray(m.maskIds) || m.maskIds.length === 0 || !m.maskIds.every((id) => Number.isInteger(id) && id > 0)) {
      throw new UserError('BAD_PARAMS', `${label}: the chosen masks must be a non-empty list of mask ids (got ${JSON.stringify(m.maskIds)})`);
    }
  }
}

function typeRef(project: Project, id: number): DefectTypeRef {
  const row = project.db.prepare('SELECT id, category, name FROM defect_types WHERE id = ?').get(id) as { id: number; category: string; name: string } | undefined;
  if (!row) throw new UserError('DEFECT_TYPE_NOT_FOUND', `${project.dir}: there is no defect type with id ${id}`);
  return { ...row, label: `${row.category}/${row.name}` };
}

/**
 * Learned masks are sampled with the mask-learning context of a DefectForge package (its token
 * table's label rows); an SD 1.x folder has no such context, so they are refused for it, naming
 * the sources that work.
 */
export function learnedMasksModel(model: ConditionableModel, label: string): BuiltinModel {
  if (model.facts.kind === 'builtin') return model as BuiltinModel;
  throw new UserError(
    'MASKS_UNSUPPORTED',
    `${label}: learned masks are sampled with a DefectForge model package; model '${model.facts.name}' is an SD 1.x folder: use the real, perlin or drawn mask source for this type`,
  );
}

/** The learned source of one mask-embedding artifact (not the type's newest: the one pinned). */
function pinnedLearnedSource(project: Project, type: DefectTypeRef, spec: TypeMaskSource, conditionable: ConditionableModel): OpenMaskSource {
  const model = learnedMasksModel(conditionable, type.label);
  const row = getArtifact(project, spec.artifactId!);
  if (!row || row.kind !== 'mask-embedding' || row.defectTypeId !== type.id) {
    throw new UserError('MASK_EMBEDDING_NOT_FOUND', `${type.label}: artifact ${spec.artifactId} is not a mask embedding of this defect type`);
  }
  const embedding = decodeEmbedding(project.blobs.read(row.blobHash), `artifact ${row.id} (mask embedding)`);
  if (embedding.modelHash !== model.facts.contentHash) {
    throw new UserError(
      'EMBEDDING_MODEL_MISMATCH',
      `${type.label}: mask embedding artifact ${row.id} was trained against model ${embedding.modelHash.slice(0, 12)}, not '${model.facts.name}' (${model.facts.contentHash.slice(0, 12)})`,
    );
  }
  const source: MaskSource = learnedMaskSource(model, embedding.anomaly.data, { id: row.id, version: row.version }, spec.sampling ?? DEFAULT_MASK_SAMPLING);
  return { source: withForeground(source, DEFAULT_FOREGROUND), release: async () => {} };
}

/** The mask sources one job (or one regenerate) uses, opened once per type and source. */
export class ProjectMasks {
  private readonly opened = new Map<string, Promise<OpenMaskSource>>();

  constructor(
    private readonly project: Project,
    private readonly model: ConditionableModel,
  ) {}

  private source(spec: MaskSpec): Promise<OpenMaskSource> {
    const key = `${spec.defectTypeId}:${spec.kind}:${spec.artifactId ?? ''}:${JSON.stringify(spec.sampling ?? null)}:${spec.maskIds?.join(',') ?? ''}`;
    let open = this.opened.get(key);
    if (!open) {
      const type = typeRef(this.project, spec.defectTypeId);
      open = spec.kind === 'learned' ? Promise.resolve().then(() => pinnedLearnedSource(this.project, type, spec, this.model)) : openMaskSource(this.project, type, spec.kind, spec.maskIds ? { maskIds: spec.maskIds } : {});
      // a failed open is not cached: the error is reported by this call and the next one alike
      open.catch(() => this.opened.delete(key));
      this.opened.set(key, open);
    }
    return open;
  }

  /**
   * The pair's mask (0 / 255) at the size of `normal`, the pair's normal image at its full stored
   * size, and its origin. Real and drawn masks are stored at full size; learned masks are sampled
   * at the model's size and upscaled nearest-neighbour (learnedMaskSource).
   */
  async mask(spec: MaskSpec, normal: RgbImage, signal?: AbortSignal): Promise<SourcedMask> {
    const { source } = await this.source(spec);
    const { width, height } = normal;
    const foreground = spec.foreground === 'otsu' ? otsuForeground(normal) : undefined;
    const made = await source.next({ width, height, seed: spec.seed, ...(foreground ? { foreground } : {}), ...(signal ? { signal } : {}) });
    return { ...made, origin: { ...made.origin, foregroundMode: spec.foreground } };
  }

  async release(): Promise<void> {
    const all = [...this.opened.values()];
    this.opened.clear();
    for (const open of all) {
      try {
        await (await open).release();
      } catch {
        // a source that failed to open holds nothing
      }
    }
  }
}
