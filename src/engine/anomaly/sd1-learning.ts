// Defect learning on a Stable Diffusion 1.x folder: the model-specific part of the one masked
// textual-inversion graph (inversion-graph.ts). The context rows the graph assembles are the
// text encoder's inputs_embeds for the placeholder prompt ("a photo of a *"):
//
//   inputs_embeds = [ table rows of "<start> a photo of a" | e_a (k rows) | E(mask) (n rows) | table rows of "<end> <pad>..." ]
//   context       = TextEncoder(inputs_embeds)          frozen CLIP, position embedding in-graph
//   eps_hat       = UNet(z_t, t, context)               frozen
//
// exactly the layout the adapter's sampling context uses (Sd1Model.promptEmbeds), so what is
// learnt is what synthesis feeds. The gradient reaches e_a and E through the UNet's
// cross-attention AND the text encoder; both networks' weights stay initializers, which the
// gradient walk never differentiates (it only follows paths from the trained tensors).
// fp16 exports are trained in float32 (Sd1Model.trainingGraphs widens them).

import { UserError } from '../../shared/errors';
import type { GraphBuilder } from '../onnx/builder';
import { embedGraph } from '../onnx/compose';
import { ONNX_DTYPE_CODE, type Model } from '../onnx/ir';
import { INPUTS_EMBEDS } from '../onnx/passes/expose-inputs-embeds';
import { specialiseShapes } from '../onnx/passes/specialise-shapes';
import type { Sd1Model, Sd1TrainingGraphs } from '../models/sd1';
import type { ConditionedEps, ContextSegment } from './inversion-graph';

const TEXT_PREFIX = 'text/';
const UNET_PREFIX = 'unet/';

/** The prompt layout of a learning run: the segments around the injected rows, and the ids. */
export interface Sd1PromptLayout {
  segments: ContextSegment[];
  /** [contextLength] token ids fed to input_ids (where the text encoder still reads them) */
  ids: number[];
}

/**
 * The context segments of the placeholder prompt with `anomalyTokens` trained rows ('e_a') then
 * `spatialTokens` rows of E(mask) in the placeholder's place.
 */
export function sd1PromptLayout(model: Sd1Model, anomalyTokens: number, spatialTokens: number): Sd1PromptLayout {
  const W = model.facts.tokenWidth;
  const { ids, slots, embeds } = model.promptEmbeds(anomalyTokens + spatialTokens);
  const first = slots[0]!;
  const end = slots[slots.length - 1]! + 1;
  const segments: ContextSegment[] = [];
  // the start token is always before the slots, the end token always after
  segments.push({ kind: 'fixed', rows: embeds.slice(0, first * W) });
  segments.push({ kind: 'trained', input: 'e_a', tokens: anomalyTokens });
  if (spatialTokens > 0) segments.push({ kind: 'encoder', tokens: spatialTokens });
  segments.push({ kind: 'fixed', rows: embeds.slice(end * W) });
  return { segments, ids };
}

function embedNamed(b: GraphBuilder, model: Model, prefix: string, bind: Record<string, string>, file: string): Record<string, string> {
  try {
    return embedGraph(b, model, { prefix, bind });
  } catch (e) {
    throw e instanceof UserError ? e : new UserError('sd-learning-graph', `${file}: ${(e as Error).message}`);
  }
}

/** The SD 1.x stage: context rows -> text encoder (inputs_embeds) -> UNet context -> eps. */
export function sd1Eps(graphs: Sd1TrainingGraphs, ids: readonly number[]): ConditionedEps {
  return {
    opsetImports: graphs.opsetImports.map((o) => ({ ...o })),
    build(b, { sample, timestep, tokens, batch: B, tokenCount: L, tokenWidth: W, latent }) {
      if (ids.length !== L) throw new Error(`SD 1.x learning graph: ${ids.length} prompt ids for ${L} context rows`);
      // ---- text encoder on inputs_embeds ----
      const textShapes: Record<string, number[]> = { [INPUTS_EMBEDS]: [B, L, W] };
      const textBind: Record<string, string> = { [INPUTS_EMBEDS]: tokens };
      if (graphs.ids) {
        textShapes[graphs.ids.name] = [B, L];
        const repeated = Array.from({ length: B * L }, (_, i) => ids[i % L]!);
        textBind[graphs.ids.name] = b.constant(repeated, [B, L], graphs.ids.dtype, 'prompt_ids');
      }
      const text = specialiseShapes(graphs.text, textShapes);
      const hidden = embedNamed(b, text, TEXT_PREFIX, textBind, graphs.textFile)[graphs.hiddenOutput];
      if (!hidden) throw new UserError('sd-learning-graph', `${graphs.textFile}: no output '${graphs.hiddenOutput}'`);

      // ---- timestep in the UNet's type; a scalar-timestep UNet gets the batch's one shared t ----
      let t = timestep;
      if (graphs.timestep.rank === 0) t = b.op('Gather', [t, b.constant([0], [], 'int64', 'first_item')], { axis: 0 });
      if (graphs.timestep.dtype !== 'float32') t = b.op('Cast', [t], { to: ONNX_DTYPE_CODE[graphs.timestep.dtype] });

      // ---- frozen UNet ----
      const contextInput = graphs.unet.graph.inputs.find((i) => i.name === graphs.context)!;
      const hiddenInfo = graphs.text.graph.outputs.find((o) => o.name === graphs.hiddenOutput);
      const widthDim = contextInput.shape?.[2] ?? hiddenInfo?.shape?.[2];
      const contextWidth = typeof widthDim === 'number' ? widthDim : W;
      const { channels: C, width: w, height: h } = latent;
      const unet = specialiseShapes(graphs.unet, {
        [graphs.sample]: [B, C, h, w],
        [graphs.timestep.name]: graphs.timestep.rank === 1 ? [B] : [],
        [graphs.context]: [B, L, contextWidth],
      });
      const out = embedNamed(b, unet, UNET_PREFIX, { [graphs.sample]: sample, [graphs.timestep.name]: t, [graphs.context]: hidden }, graphs.unetFile);
      const eps = out[graphs.output];
      if (!eps) throw new UserError('sd-learning-graph', `${graphs.unetFile}: no output '${graphs.output}'`);
      return eps;
    },
  };
}
