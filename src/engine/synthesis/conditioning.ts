// A defect type's conditioning spec -> the Conditioning a built-in model takes, plus the summary
// the lineage records. A learned embedding must belong to the model it is used with (its
// recorded model hash), and fit its token layout; its spatial encoder (when trained) turns the
// pair's mask into e_s, so e = concat(e_a, e_s) (METHOD.md, spatial anomaly embedding).
import { UserError } from '../../shared/errors';
import { decodeEmbedding, type AnomalyEmbedding } from '../anomaly/embedding-file';
import type { LineageConditioning } from '../diffusion/lineage';
import type { BuiltinModel } from '../models/builtin/load';
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

export async function resolveConditioning(model: BuiltinModel, spec: ConditioningSpec, mask: Uint8Array, embeddings: EmbeddingCache): Promise<ResolvedConditioning> {
  const { width, height } = model.facts.imageSize;
  const maskInput = { width, height, data: mask };
  const family = spec.family ? { prompt: spec.family } : {};
  const familySummary = spec.family ? { family: spec.family } : {};
  if (spec.kind === 'model-defect') {
    return {
      conditioning: { ...family, defect: spec.defect, mask: maskInput },
      summary: { ...familySummary, defect: spec.defect, injectedVectors: 0, spatialTokens: 'model-encoder' },
    };
  }
  const embedding = embeddings.get(spec.blob);
  const where = `artifact ${spec.artifactId} (blob ${spec.blob.slice(0, 12)})`;
  if (embedding.modelHash !== model.facts.contentHash) {
    throw new UserError('EMBEDDING_MODEL_MISMATCH', `${where}: the embedding of '${embedding.defectType}' was trained against model ${embedding.modelHash.slice(0, 12)}, not '${model.facts.name}' (${model.facts.contentHash.slice(0, 12)})`);
  }
  const { defectTokens, width: tokenWidth } = model.manifest.tokens;
  if (embedding.anomaly.dims[0] !== defectTokens || embedding.anomaly.dims[1] !== tokenWidth) {
    throw new UserError('EMBEDDING_SHAPE', `${where}: e_a is [${embedding.anomaly.dims}]; model '${model.facts.name}' takes [${defectTokens}, ${tokenWidth}]`);
  }
  if (!embedding.spatialEncoder) {
    return {
      conditioning: { ...family, injected: embedding.anomaly.data, mask: maskInput },
      summary: { ...familySummary, injectedVectors: defectTokens, spatialTokens: 'model-encoder' },
    };
  }
  const spatial = await model.spatialTokens(maskInput, embedding.spatialEncoder);
  const injected = new Float32Array(embedding.anomaly.data.length + spatial.length);
  injected.set(embedding.anomaly.data, 0);
  injected.set(spatial, embedding.anomaly.data.length);
  return {
    conditioning: { ...family, injected },
    summary: { ...familySummary, injectedVectors: injected.length / tokenWidth, spatialTokens: 'embedding-encoder' },
  };
}
