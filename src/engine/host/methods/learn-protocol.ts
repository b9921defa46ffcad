// The engine methods of few-shot learning: params and results of 'learnDefect' and 'learnMask'.
// They are merged into the protocol's EngineMethods map by declaration merging, so the handler
// table, the job kinds and EngineHost.request are typed with them. (These declarations belong in
// shared/engine-protocol.ts beside the other methods; they live here until that file is edited.)

export interface LearnDefectParams {
  /** project folder */
  project: string;
  /** 'category/name' */
  type: string;
  /** model folder (a DefectForge model package) */
  model: string;
  steps?: number;
  batch?: number;
  lr?: number;
  /** the spatial encoder's learning rate (e_a uses lr) */
  encoderLr?: number;
  seed?: number;
  /** augmented variants encoded per training image */
  variants?: number;
  /** a family label of the model for the context's first slot */
  family?: string;
  /** SD 1.x folders whose export leaves the image size symbolic: learn at this pixel size (default 512x512) */
  imageSize?: { width: number; height: number };
  checkpointEvery?: number;
  /** a preview image (blob hash in progress events) every N steps; 0 = none */
  previewEvery?: number;
  previewSteps?: number;
  /** continue from the newest checkpoint of an unfinished job with the same settings */
  resume?: boolean;
}

export interface LearnDefectMethodResult {
  defectType: string;
  artifactId: number;
  version: number;
  blobHash: string;
  modelHash: string;
  steps: number;
  finalLoss: number;
  stepsPerSecond: number;
  resumedFromStep: number;
  trainingPairs: number;
  /** the probe loss of the starting and final parameters; end well above start: the run diverged */
  probeLoss: { start: number; end: number };
  seconds: number;
}

export interface LearnMaskParams {
  project: string;
  type: string;
  model: string;
  steps?: number;
  batch?: number;
  lr?: number;
  seed?: number;
  variants?: number;
  checkpointEvery?: number;
  resume?: boolean;
}

export interface LearnMaskMethodResult {
  defectType: string;
  artifactId: number;
  version: number;
  blobHash: string;
  modelHash: string;
  steps: number;
  finalLoss: number;
  resumedFromStep: number;
  trainingMasks: number;
  seconds: number;
}

declare module '../../../shared/engine-protocol' {
  interface EngineMethods {
    learnDefect: { params: LearnDefectParams; result: LearnDefectMethodResult };
    learnMask: { params: LearnMaskParams; result: LearnMaskMethodResult };
  }
}
