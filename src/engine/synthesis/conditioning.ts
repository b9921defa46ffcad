// A defect type's conditioning spec -> the Conditioning a model takes, plus the summary the
// lineage records. A learned embedding must belong to the model it is used with (its recorded
// model hash), and fit its token layout; its spatial encoder (when trained) turns the pair's mask
// into e_s, so e = concat(e_a, e_s) (METHOD.md, spatial anomaly embedding).
// Built-in packages place e in their context layout; SD 1.x folders place it in the inputs_embeds
// rows of the prompt's placeholder (models/sd1: Conditioning.injected), exactly as it was learnt.
import { UserError } from '../../shared/errors';
import { decodeEmbedding, type AnomalyEmbedding } from '../anomaly/embedding-file';
import type { LineageConditioning } from '../diffusion/lineage';
import type { BuiltinModel } from '../models/builtin/load';
import type { Sd1Model } from '../models/sd1';
import type { Conditioning } from '../models/types';
import type { BlobReader } from './pair-inputs';
import type { ConditioningSpec } from './recipe';

export interface ResolvedConditioning {
  conditioning: Conditioning;
  summary: LineageConditioning;
}

/** Decoded embeddings by blob hash: a job decodes each type's embedding once. */
export class EmbeddingCache {
  private readonly byHash = new Map<string, AnomalyEmbedding>();
  constructor(private readonly blobs: BlobReader) {}

  get(hash: string): AnomalyEmbedding {
    let e = this.byHash.get(hash);
    if (!e) {
      e = decodeEmbedding(this.blobs.read(hash), this.blobs.path(hash));
      this.byHash.set(hash, e);
    }
    return e;
  }
}

/** A model synthesis can condition: a built-in package, or an SD 1.x folder (learned embeddings only). */
export type ConditionableModel = BuiltinModel | Sd1Model;

const isSd1 = (model: ConditionableModel): model is Sd1Model => model.facts.kind === 'sd1';

export async function resolveConditioning(model: ConditionableModel, spec: ConditioningSpec, mask: Uint8Array, embeddings: EmbeddingCache): Promise<ResolvedConditioning> {
  if (spec.kind === 'model-defect') return modelDefectConditioning(model, spec.defect, mask, spec.family);
  const embedding = embeddings.get(spec.blob);
  return embeddingConditioning(model, embedding, `artifact ${spec.artifactId} (blob ${spec.blob.slice(0, 12)})`, mask, spec.family);
}

/** A defect family the package's token table knows; the mask goes to the model's own encoder. SD 1.x folders know none. */
export function modelDefectConditioning(model: ConditionableModel, defect: string, mask: Uint8Array, family?: string): ResolvedConditioning {
  if (isSd1(model)) {
    throw new UserError('CONDITIONING_UNSUPPORTED', `model '${model.facts.name}' is an SD 1.x folder: it knows no defect families ('${defect}'); learn the defect type against it first`);
  }
  const { width, height } = model.facts.imageSize;
  return {
    conditioning: { ...(family ? { prompt: family } : {}), defect, mask: { width, height, data: mask } },
    summary: { ...(family ? { family } : {}), defect, injectedVectors: 0, spatialTokens: 'model-encoder' },
  };
}

/**
 * A learned embedding on one mask: e_a's rows, then E(mask) when the embedding carries a trained
 * E. It must have been learnt against this model (its recorded hash) and fit its token layout;
 * `where` names it in errors (an artifact, a file).
 */
export async function embeddingConditioning(model: ConditionableModel, embedding: AnomalyEmbedding, where: string, mask: Uint8Array, family?: string): Promise<ResolvedConditioning> {
  if (embedding.modelHash !== model.facts.contentHash) {
    throw new UserError('EMBEDDING_MODEL_MISMATCH', `${where}: the embedding of '${embedding.defectType}' was trained against model ${embedding.modelHash.slice(0, 12)}, not '${model.facts.name}' (${model.facts.contentHash.slice(0, 12)})`);
  }
  if (isSd1(model)) return sd1Conditioning(model, embedding, where, mask, family);
  const { width, height } = model.facts.imageSize;
  const maskInput = { width, height, data: mask };
  const prompt = family ? { prompt: family } : {};
  const familySummary = family ? { family } : {};
  const { defectTokens, width: tokenWidth } = model.manifest.tokens;
  if (embedding.anomaly.dims[0] !== defectTokens || embedding.anomaly.dims[1] !== tokenWidth) {
    throw new UserError('EMBEDDING_SHAPE', `${where}: e_a is [${embedding.anomaly.dims}]; model '${model.facts.name}' takes [${defectTokens}, ${tokenWidth}]`);
  }
  if (!embedding.spatialEncoder) {
    return {
      conditioning: { ...prompt, injected: embedding.anomaly.data, mask: maskInput },
      summary: { ...familySummary, injectedVectors: defectTokens, spatialTokens: 'model-encoder' },
    };
  }
  const spatial = await model.spatialTokens(maskInput, embedding.spatialEncoder);
  const injected = new Float32Array(embedding.anomaly.data.length + spatial.length);
  injected.set(embedding.anomaly.data, 0);
  injected.set(spatial, embedding.anomaly.data.length);
  return {
    conditioning: { ...prompt, injected },
    summary: { ...familySummary, injectedVectors: injected.length / tokenWidth, spatialTokens: 'embedding-encoder' },
  };
}

/**
 * SD 1.x: e_a's rows and E(mask) (the artifact's E, rebuilt by the adapter around its weights)
 * go into the placeholder's rows of the prompt, in the order learning put them.
 */
async function sd1Conditioning(model: Sd1Model, embedding: AnomalyEmbedding, where: string, mask: Uint8Array, family?: string): Promise<ResolvedConditioning> {
  if (family) throw new UserError('CONDITIONING_UNSUPPORTED', `model '${model.facts.name}' is an SD 1.x folder: family labels ('${family}') belong to DefectForge model packages`);
  const tokenWidth = model.facts.tokenWidth;
  if (embedding.anomaly.dims[1] !== tokenWidth) {
    throw new UserError('EMBEDDING_SHAPE', `${where}: e_a is [${embedding.anomaly.dims}]; model '${model.facts.name}' takes ${tokenWidth}-wide token vectors`);
  }
  const { width, height } = model.facts.imageSize;
  const spatial = embedding.spatialEncoder ? await model.spatialTokens({ width, height, data: mask }, embedding.spatialEncoder) : new Float32Array(0);
  const injected = new Float32Array(embedding.anomaly.data.length + spatial.length);
  injected.set(embedding.anomaly.data, 0);
  injected.set(spatial, embedding.anomaly.data.length);
  return {
    conditioning: { injected },
    summary: { injectedVectors: injected.length / tokenWidth, spatialTokens: embedding.spatialEncoder ? 'embedding-encoder' : 'none' },
  };
}
