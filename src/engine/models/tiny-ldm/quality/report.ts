// What a quality run measures (written as quality.json beside the package's model card).

import type { SamplerSettings } from '../../../diffusion/schedulers';
import type { PasteBackSettings } from '../../../diffusion/paste-back';
import type { ClassifierSettings } from './family-classifier';

/** The bar for the inside/outside change ratio. */
export const RATIO_TARGET = 5;

export type ConditioningKind = 'token-rows' | 'textual-inversion';

export interface FamilyQuality {
  defect: string;
  /** token-rows: the family's pretrained rows of the token table; textual-inversion: learned by learnDefect from image-mask pairs */
  conditioning: ConditioningKind;
  samples: number;
  /**
   * mean absolute 8-bit change inside the mask of what paste-back composites over the original
   * (the decoded image, plus the original's detail layer when paste-back restores it)
   */
  inside: number;
  /** the same farther than outsideDistancePx from the mask */
  outside: number;
  /**
   * the outside change of the same pipeline with nothing generated (encode, decode, and the
   * detail restored when paste-back restores it): the floor of `outside`; 0 with the detail
   * restored, since the restored round trip is the original
   */
  vaeOutside: number;
  ratio: number;
  /** 95% percentile-bootstrap interval of `ratio` over the family's samples (change-ratio.ts) */
  ratioInterval: [number, number];
  /**
   * The ratio of the REAL defect (the corpus' own, same image and mask) after the same
   * encode-decode round trip: what a generator that paints this family perfectly would score on
   * this autoencoder. A family whose real defect changes its mask little beside the VAE's error
   * (a subtle fold) has a low reference, and a faithful generator cannot beat it by much.
   */
  realRatio: number;
  /**
   * When paste-back restores the detail: the same measures on the decoder's own output, without
   * the detail (the measure of reports before session 12), where the autoencoder's
   * reconstruction error counts as change outside the mask
   */
  decoderOnly?: { inside: number; outside: number; vaeOutside: number; ratio: number; realRatio: number };
  /**
   * mean absolute 8-bit difference between the output (after paste-back) and the REAL defect of
   * the same family painted by the corpus into the same image at the same mask, over mask pixels:
   * how far what the model paints is from what the defect looks like
   */
  toReal: number;
  /** the same for the untouched normal image: the score of painting nothing */
  untouchedToReal: number;
  /** share of this family's generated defects the classifier put in this family */
  classifierRecall: number;
  inversion?: { pairs: number; steps: number; finalLoss: number };
}

export interface QualityReport {
  model: { name: string; contentHash: string };
  date: string;
  seed: number;
  settings: {
    samplesPerFamily: number;
    sampler: SamplerSettings;
    guidance: number;
    /** phi of guidance rescaling (0: plain CFG; reports before session 9 have none) */
    guidanceRescale?: number;
    aar: boolean;
    pasteBack: PasteBackSettings;
    outsideDistancePx: number;
    /** resamples of the ratio intervals */
    bootstrapResamples: number;
    inversionPairs: number;
    inversionSteps: number;
    classifier: ClassifierSettings & { trainPerFamily: number };
  };
  families: FamilyQuality[];
  classifier: {
    /** class order of the confusion matrices */
    families: string[];
    accuracy: number;
    chance: number;
    accuracyTokenRows: number;
    accuracyTextualInversion: number;
    /** confusion[true][predicted] over the generated defects */
    confusion: number[][];
    maskOnlyAccuracy: number;
    maskOnlyConfusion: number[][];
    trainItems: number;
    testItems: number;
  };
  grid: { file: string; cell: number; rows: string[]; columns: string[] };
  cpuSeconds: number;
  command: string;
}
