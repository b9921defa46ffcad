// The IPC contract between the renderer and main: channel names (`domain:verb`), the request and
// response type of each invoke channel, the payload of each event channel, and the envelope that
// every result crosses in. Main's handlers, the preload bridge, the browser-test shim and the
// renderer's client are all typed from this one file. Pure TypeScript: no node, electron or DOM.
import type { DefectTypeInfo, ImportReport, JobState, ProjectInfo } from './dto';

export const CHANNELS = {
  appInfo: 'app:info',
  projectCreate: 'project:create',
  projectOpen: 'project:open',
  projectInfo: 'project:info',
  projectRecent: 'project:recent',
  datasetImport: 'dataset:import',
  dialogPickFolder: 'dialog:pickFolder',
  imagesList: 'images:list',
  imagesGet: 'images:get',
  imagesThumbnails: 'images:thumbnails',
  masksSave: 'masks:save',
  masksDraftGet: 'masks:draftGet',
  masksDraftPut: 'masks:draftPut',
  masksDraftDrop: 'masks:draftDrop',
  typesList: 'types:list',
  typesCreate: 'types:create',
  typesRename: 'types:rename',
  typesMerge: 'types:merge',
  typesSetTrainCount: 'types:setTrainCount',
  typesSetSettings: 'types:setSettings',
  jobsList: 'jobs:list',
  jobsSubmit: 'jobs:submit',
  jobsCancel: 'jobs:cancel',
  modelGet: 'model:get',
  modelSet: 'model:set',
  learnStart: 'learn:start',
  augmentStart: 'augment:start',
  augmentCancel: 'augment:cancel',
  samplesList: 'samples:list',
  samplesGet: 'samples:get',
  samplesRegenerate: 'samples:regenerate',
  samplesReuseMask: 'samples:reuseMask',
} as const;

/** Main -> renderer notifications (no reply). */
export const EVENTS = {
  importProgress: 'dataset:importProgress',
  menuCommand: 'app:menuCommand',
  jobsUpdate: 'jobs:update',
  augmentUpdate: 'augment:update',
} as const;

export type InvokeChannel = (typeof CHANNELS)[keyof typeof CHANNELS];
export type EventChannel = (typeof EVENTS)[keyof typeof EVENTS];

export const INVOKE_CHANNELS: readonly InvokeChannel[] = Object.values(CHANNELS);
export const EVENT_CHANNELS: readonly EventChannel[] = Object.values(EVENTS);

/** The layout the user asks for; 'auto' lets the importer recognise it. */
export type ImportLayoutChoice = 'mvtec' | 'folder' | 'auto';
export const IMPORT_LAYOUTS: readonly ImportLayoutChoice[] = ['mvtec', 'folder', 'auto'];

/** Why a folder is asked for; 'model' = the project's model package, 'augmentOutput' = a new export folder. */
export type FolderPurpose = 'createProject' | 'openProject' | 'importDataset' | 'model' | 'augmentOutput';
export const FOLDER_PURPOSES: readonly FolderPurpose[] = ['createProject', 'openProject', 'importDataset', 'model', 'augmentOutput'];

export interface AppInfo {
  name: string;
  version: string;
  platform: string;
  arch: string;
  /** Node version of the process that answers (Electron's embedded Node in the app). */
  node: string;
  /** Electron version, or null when the backend runs under plain Node (browser tests). */
  electron: string | null;
}

export interface RecentProject {
  dir: string;
  name: string;
  /** ISO 8601 time the project was last opened or created. */
  openedAt: string;
}

/** The answer to create/open: where the project is and what it holds. */
export interface OpenedProject {
  dir: string;
  info: ProjectInfo;
}

/** Application-menu items that the renderer carries out (they need its state and dialogs). */
export type MenuCommand = 'createProject' | 'openProject' | 'importDataset';

export interface ImportProgress {
  done: number;
  total: number;
}

// ---- dataset browser, viewer and mask editor -------------------------------------------------

export type ImageSplit = 'train' | 'test';
export const IMAGE_SPLITS: readonly ImageSplit[] = ['train', 'test'];
export type ImageOrigin = 'real' | 'synthetic';
export const IMAGE_ORIGINS: readonly ImageOrigin[] = ['real', 'synthetic'];
/** 'good' = images without a defect type, 'defect' = images of any defect type. */
export type ImageLabel = 'good' | 'defect';
export const IMAGE_LABELS: readonly ImageLabel[] = ['good', 'defect'];
export type ImageSort = 'added' | 'name' | 'type' | 'maskArea';
export const IMAGE_SORTS: readonly ImageSort[] = ['added', 'name', 'type', 'maskArea'];

/** The grid's filters; an absent field does not filter. */
export interface ImageFilter {
  category?: string;
  split?: ImageSplit;
  label?: ImageLabel;
  defectTypeId?: number;
  origin?: ImageOrigin;
  hasMask?: boolean;
}

export interface ImageQuery extends ImageFilter {
  sort?: ImageSort;
  descending?: boolean;
  offset: number;
  limit: number;
}

export interface ImageListItem {
  id: number;
  blobHash: string;
  category: string;
  split: ImageSplit;
  defectTypeId: number | null;
  defectType: string | null;
  defectSplit: 'train' | 'holdout' | null;
  origin: ImageOrigin;
  /** The file name it was imported from (no folder), or null for generated images. */
  fileName: string | null;
  width: number;
  height: number;
  maskCount: number;
}

export interface ImagePage {
  /** Images matching the filter (all pages together). */
  total: number;
  offset: number;
  items: ImageListItem[];
}

export type MaskSource = 'imported' | 'drawn' | 'generated';

export interface MaskInfo {
  id: number;
  blobHash: string;
  source: MaskSource;
  areaPx: number;
  createdAt: string;
}

export interface ImageDetail extends ImageListItem {
  /** Oldest first; the editor starts from the newest 'drawn' one, else from the union of the rest. */
  masks: MaskInfo[];
  /** The overlay colour of the image's defect type (#rrggbb). */
  color: string;
}

/** A mask as PNG bytes in base64 (JSON carries no binary). */
export interface MaskDraft {
  imageId: number;
  pngBase64: string;
  savedAt: string;
}

export interface DefectTypeSettings {
  /** Attention-reweighting (AAR) during synthesis for this type. */
  aar: boolean;
  /** Overlay colour, #rrggbb. */
  color: string;
  /** Where synthesis takes this type's masks from (default 'real': the training masks, flipped/shifted/scaled). */
  maskSource: MaskSourceKind;
  /** Keep generated masks on the object: 'otsu' thresholds each normal image (default 'none'). */
  foreground: ForegroundKind;
}

export const MASK_SOURCES = ['real', 'learned', 'perlin', 'drawn'] as const;
export type MaskSourceKind = (typeof MASK_SOURCES)[number];
export const FOREGROUNDS = ['none', 'otsu'] as const;
export type ForegroundKind = (typeof FOREGROUNDS)[number];

export interface DefectTypeDetail extends DefectTypeInfo {
  settings: DefectTypeSettings;
}

// ---- jobs -----------------------------------------------------------------------------------

export interface JobProgressInfo {
  step: number;
  total: number;
  etaSeconds?: number;
  message?: string;
  /** training loss at this step (learning jobs) */
  loss?: number;
  /** blob hash of a preview image the learning job made at this step */
  preview?: string;
}

export interface JobInfo {
  id: number;
  kind: string;
  state: JobState;
  progress: JobProgressInfo | null;
  error: string | null;
  /** what the job logged at level 'warn' (e.g. a learning run whose fit got worse) */
  warnings: string[];
  createdAt: string;
  startedAt: string | null;
  finishedAt: string | null;
}

/** Job kinds the renderer may start. */
export type SubmittableJobKind = 'sleep';
export const SUBMITTABLE_JOB_KINDS: readonly SubmittableJobKind[] = ['sleep'];

export interface JobUpdateEvent {
  jobId: number;
  state: JobState;
  progress?: JobProgressInfo;
  error?: string;
  /** on the update that ends a job: what it logged at level 'warn' */
  warnings?: string[];
}

// ---- model, learning, augmentation and generated samples --------------------------------------

/** The project's model package (project setting "modelDir"). */
export interface ModelSetting {
  dir: string | null;
  /** the package's name and content hash when `dir` is set and readable */
  name: string | null;
  contentHash: string | null;
  /** no folder was chosen for the project: `dir` is the embedded default model */
  isDefault: boolean;
}

// the exporter's formats (engine/export EXPORT_FORMATS; a test checks the two lists match)
export const AUGMENT_FORMATS = ['mvtec', 'anomalib', 'coco', 'yolo'] as const;
export type AugmentFormat = (typeof AUGMENT_FORMATS)[number];

export interface AugmentStartRequest {
  /** defect types to synthesize (at least one) */
  typeIds: number[];
  /** pairs per type */
  perType: number;
  formats: AugmentFormat[];
  /** output folder; it must not exist yet */
  out: string;
  /** denoising steps (default: the synthesis default) */
  steps?: number;
  seed?: number;
  /** adapt the model to the project's normal images first: 'auto' (the default) for DefectForge packages only */
  adapt?: boolean | 'auto';
  /** keep the normal images' fine detail in the generated regions (default: on) */
  restoreDetail?: boolean;
}

export type AugmentRunState = 'running' | 'succeeded' | 'failed' | 'cancelled';

export interface AugmentTypeResult {
  type: string;
  made: number;
  exported: number;
}

/** One change of a one-click augmentation run (stage lines, stage progress, the end). */
export interface AugmentUpdateEvent {
  runId: number;
  state: AugmentRunState;
  /** the stage now running, e.g. 'wood/hole: synthesizing 2 pairs' */
  stage?: string;
  /** progress of the running stage's job */
  progress?: { type: string; kind: string; step: number; total: number };
  /** the output folder, when the run succeeded */
  out?: string;
  results?: AugmentTypeResult[];
  error?: string;
}

export interface SampleListItem {
  id: number;
  jobId: number | null;
  defectTypeId: number | null;
  /** 'category/name', or null when the type was deleted */
  defectType: string | null;
  imageBlob: string;
  maskBlob: string;
  createdAt: string;
}

export interface SamplePage {
  total: number;
  offset: number;
  items: SampleListItem[];
}

/** Where a sample came from: every input needed to make it again. */
export interface SampleLineageInfo {
  normalImage: { id: number; blobHash: string; fileName: string | null } | null;
  /** 'real', 'learned', 'perlin', 'drawn', ... */
  maskOrigin: string;
  /** the mask source's own record (which training mask, how it was moved, ...) */
  maskSource: Record<string, unknown>;
  /** learnt artifacts used (embedding versions) */
  artifacts: { id: number; kind: string; version: number }[];
  model: { contentHash: string | null; path: string | null };
  seed: number;
  /** every generation setting */
  settings: Record<string, unknown>;
  executionProvider: string;
  onnxruntimeVersion: string;
  appVersion: string;
}

export interface SampleDetail extends SampleListItem {
  generator: string;
  lineage: SampleLineageInfo | null;
}

export interface RegenerateResult {
  sampleId: number;
  identical: boolean;
  imageIdentical: boolean;
  maskIdentical: boolean;
  seconds: number;
}

/** "Use this mask again": the pair's mask joins its defect type's drawn masks; `generate` also starts that many pairs with it. */
export interface ReuseMaskRequest {
  /** the generated pair (sample) whose mask is reused */
  id: number;
  /** pairs to synthesize with exactly this mask on the category's normal images (seeded-random picks) */
  generate?: number;
  /** the new run's seed (default: a fresh one) */
  seed?: number;
}

export interface ReuseMaskResult {
  /** the pair's synthetic image, now an image of the type (origin 'synthetic') that carries the mask */
  imageId: number;
  /** the 'drawn' mask row the pair's mask became */
  maskId: number;
  /** false when the mask was already among the type's drawn masks */
  added: boolean;
  /** the synthesis job started with the mask (null when `generate` was not asked for) */
  jobId: number | null;
}

/** Request and response type of every invoke channel. */
export interface InvokeMap {
  'app:info': { request: Record<string, never>; response: AppInfo };
  'project:create': { request: { dir: string; name?: string }; response: OpenedProject };
  'project:open': { request: { dir: string }; response: OpenedProject };
  'project:info': { request: Record<string, never>; response: ProjectInfo };
  'project:recent': { request: Record<string, never>; response: RecentProject[] };
  'dataset:import': { request: { folder: string; layout?: ImportLayoutChoice }; response: ImportReport };
  'dialog:pickFolder': { request: { purpose: FolderPurpose }; response: { path: string | null } };
  'images:list': { request: ImageQuery; response: ImagePage };
  'images:get': { request: { id: number }; response: ImageDetail };
  /** Thumbnail blob hashes of the images, made (once) on demand. */
  'images:thumbnails': { request: { ids: number[] }; response: { thumbnails: { id: number; hash: string }[] } };
  'masks:save': { request: { imageId: number; pngBase64: string }; response: { mask: MaskInfo; unchanged: boolean } };
  'masks:draftGet': { request: { imageId: number }; response: MaskDraft | null };
  'masks:draftPut': { request: { imageId: number; pngBase64: string }; response: { savedAt: string } };
  'masks:draftDrop': { request: { imageId: number }; response: Record<string, never> };
  'types:list': { request: Record<string, never>; response: DefectTypeDetail[] };
  'types:create': { request: { category: string; name: string }; response: DefectTypeDetail };
  'types:rename': { request: { id: number; name: string }; response: DefectTypeDetail };
  /** Moves every image of `sourceId` to `targetId` (same category) and deletes the source type. */
  'types:merge': { request: { sourceId: number; targetId: number }; response: DefectTypeDetail };
  /** null = the default (the first third). */
  'types:setTrainCount': { request: { id: number; trainCount: number | null }; response: DefectTypeDetail };
  'types:setSettings': { request: { id: number; aar?: boolean; color?: string; maskSource?: MaskSourceKind; foreground?: ForegroundKind }; response: DefectTypeDetail };
  'jobs:list': { request: Record<string, never>; response: JobInfo[] };
  'jobs:submit': { request: { kind: SubmittableJobKind; params: { steps: number; stepMs: number } }; response: { id: number } };
  'jobs:cancel': { request: { id: number }; response: { cancelled: boolean } };
  'model:get': { request: Record<string, never>; response: ModelSetting };
  /** Checks the folder is a model package and keeps it as the project's model. */
  'model:set': { request: { dir: string }; response: ModelSetting };
  /** Starts a 'learn-defect' job for the type with the project's model; `resume` continues a stopped one. */
  'learn:start': { request: { typeId: number; steps: number; previewEvery?: number; resume?: boolean }; response: { id: number } };
  /** Starts a one-click augmentation (learning what is missing, synthesis, export); updates come as 'augment:update'. */
  'augment:start': { request: AugmentStartRequest; response: { runId: number } };
  'augment:cancel': { request: { runId: number }; response: { cancelled: boolean } };
  'samples:list': { request: { defectTypeId?: number; offset: number; limit: number }; response: SamplePage };
  'samples:get': { request: { id: number }; response: SampleDetail };
  /** Makes the sample again from its lineage and says whether image and mask are bit-identical. */
  'samples:regenerate': { request: { id: number }; response: RegenerateResult };
  'samples:reuseMask': { request: ReuseMaskRequest; response: ReuseMaskResult };
}

/** Payload of every event channel. */
export interface EventMap {
  'dataset:importProgress': ImportProgress;
  'app:menuCommand': { command: MenuCommand };
  'jobs:update': JobUpdateEvent;
  'augment:update': AugmentUpdateEvent;
}

export type IpcRequest<C extends InvokeChannel> = InvokeMap[C]['request'];
export type IpcResponse<C extends InvokeChannel> = InvokeMap[C]['response'];

export interface IpcErrorBody {
  code: string;
  message: string;
}

/** How every result crosses a process boundary: thrown errors do not survive structured clone. */
export type IpcResult<T> = { result: T } | { error: IpcErrorBody };

/**
 * What the preload exposes as `window.api` (and what the browser-test shim imitates over HTTP).
 * It returns envelopes rather than throwing because Electron's contextBridge copies only the
 * message of an Error, dropping `code`; the renderer's client rethrows with `unwrapResult`.
 */
export interface BridgeApi {
  invoke<C extends InvokeChannel>(channel: C, request: IpcRequest<C>): Promise<IpcResult<IpcResponse<C>>>;
  on<E extends EventChannel>(event: E, listener: (payload: EventMap[E]) => void): () => void;
}

/** An error that came back over IPC, with the code main gave it (e.g. NOT_A_PROJECT). */
export class ApiError extends Error {
  readonly code: string;
  constructor(code: string, message: string) {
    super(message);
    this.name = 'ApiError';
    this.code = code;
  }
}

export function isInvokeChannel(value: unknown): value is InvokeChannel {
  return typeof value === 'string' && (INVOKE_CHANNELS as readonly string[]).includes(value);
}

export function isEventChannel(value: unknown): value is EventChannel {
  return typeof value === 'string' && (EVENT_CHANNELS as readonly string[]).includes(value);
}

/** Returns the result or throws an ApiError carrying the code; malformed envelopes are errors too. */
export function unwrapResult<T>(envelope: IpcResult<T>): T {
  if (envelope !== null && typeof envelope === 'object') {
    if ('result' in envelope) return envelope.result;
    if ('error' in envelope && envelope.error && typeof envelope.error === 'object') {
      throw new ApiError(String(envelope.error.code), String(envelope.error.message));
    }
  }
  throw new ApiError('BAD_ENVELOPE', `malformed IPC reply: ${JSON.stringify(envelope)}`);
}
