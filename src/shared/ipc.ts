// The IPC contract between the renderer and main: channel names (`domain:verb`), the request and
// response type of each invoke channel, the payload of each event channel, and the envelope that
// every result crosses in. Main's handlers, the preload bridge, the browser-test shim and the
// renderer's client are all typed from this one file. Pure TypeScript: no node, electron or DOM.
import type { ImportReport, ProjectInfo } from './dto';

export const CHANNELS = {
  appInfo: 'app:info',
  projectCreate: 'project:create',
  projectOpen: 'project:open',
  projectInfo: 'project:info',
  projectRecent: 'project:recent',
  datasetImport: 'dataset:import',
  dialogPickFolder: 'dialog:pickFolder',
} as const;

/** Main -> renderer notifications (no reply). */
export const EVENTS = {
  importProgress: 'dataset:importProgress',
  menuCommand: 'app:menuCommand',
} as const;

export type InvokeChannel = (typeof CHANNELS)[keyof typeof CHANNELS];
export type EventChannel = (typeof EVENTS)[keyof typeof EVENTS];

export const INVOKE_CHANNELS: readonly InvokeChannel[] = Object.values(CHANNELS);
export const EVENT_CHANNELS: readonly EventChannel[] = Object.values(EVENTS);

/** The layout the user asks for; 'auto' lets the importer recognise it. */
export type ImportLayoutChoice = 'mvtec' | 'folder' | 'auto';
export const IMPORT_LAYOUTS: readonly ImportLayoutChoice[] = ['mvtec', 'folder', 'auto'];

export type FolderPurpose = 'createProject' | 'openProject' | 'importDataset';
export const FOLDER_PURPOSES: readonly FolderPurpose[] = ['createProject', 'openProject', 'importDataset'];

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

/** Request and response type of every invoke channel. */
export interface InvokeMap {
  'app:info': { request: Record<string, never>; response: AppInfo };
  'project:create': { request: { dir: string; name?: string }; response: OpenedProject };
  'project:open': { request: { dir: string }; response: OpenedProject };
  'project:info': { request: Record<string, never>; response: ProjectInfo };
  'project:recent': { request: Record<string, never>; response: RecentProject[] };
  'dataset:import': { request: { folder: string; layout?: ImportLayoutChoice }; response: ImportReport };
  'dialog:pickFolder': { request: { purpose: FolderPurpose }; response: { path: string | null } };
}

/** Payload of every event channel. */
export interface EventMap {
  'dataset:importProgress': ImportProgress;
  'app:menuCommand': { command: MenuCommand };
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
