// The messages between the app/CLI (host) and the engine process. Pure data: every message is a
// plain object that survives structured clone (Node's 'advanced' IPC serialisation and Electron's
// postMessage), tagged by `type`. Requests carry a `seq` chosen by the host; the reply, the
// progress events and a later cancel refer to the request by that `seq`.

/** Bumped when a message shape changes incompatibly; the engine announces it in `ready`. */
export const ENGINE_PROTOCOL_VERSION = 1;

// ---- methods -------------------------------------------------------------------------------

export interface PingParams {
  /** echoed back, so a test can tell replies apart */
  echo?: string;
}
export interface PingResult {
  echo: string | null;
  pid: number;
}

export interface SleepJobParams {
  /** number of steps to run (>= 1) */
  steps: number;
  /** milliseconds each step sleeps (>= 0) */
  stepMs: number;
  /** when set, the step with this 1-based index throws, to exercise the failure path */
  failAtStep?: number;
}
export interface SleepJobResult {
  completedSteps: number;
}

export interface RuntimeInfoResult {
  os: { platform: string; release: string; arch: string };
  cpu: { model: string; cores: number };
  nodeVersion: string;
  /** set when the engine runs inside Electron */
  electronVersion: string | null;
  onnxruntimeVersion: string;
  /** execution providers this engine build can use */
  executionProviders: string[];
  /** the provider sessions are created with */
  chosenExecutionProvider: string;
  /** why a preferred provider was not used, when it was not */
  fallbackReason?: string;
  intraOpNumThreads: number;
  interOpNumThreads: number;
  /** how training runs convolutions with fed weights on CPU: 'nchwc (block N)' or 'standard' */
  trainingConvKernels: string;
  pid: number;
}

/** One generated defect image (engine method `synthesize`); paths are absolute. */
export interface SynthesizeParams {
  /** model folder (a built-in package or an SD 1.x ONNX folder) */
  model: string;
  /** SD 1.x folders whose export leaves the image size symbolic: run at this pixel size (default 512x512) */
  imageSize?: { width: number; height: number };
  /** the normal (defect-free) image, at the model's image size */
  image: string;
  /** the defect mask (non-zero = defect), same size as the image */
  mask: string;
  /** output PNG; the exact mask (`<stem>.mask.png`) and lineage (`<stem>.lineage.json`) go beside it */
  out: string;
  /** a trained anomaly embedding (e_a, optionally the spatial encoder) */
  embedding?: string;
  /** texture/product family label of the model */
  family?: string;
  /** a defect family of the model's token table (when no embedding is given) */
  defect?: string;
  sampler?: 'ddim' | 'euler' | 'ddpm';
  steps?: number;
  eta?: number;
  seed?: number;
  guidance?: number;
  aar?: boolean;
  strength?: number;
  /** paste-back restores the normal image's fine detail in the generated region (default true) */
  restoreDetail?: boolean;
}
export interface SynthesizeResult {
  image: string;
  mask: string;
  lineage: string;
  seed: number;
  modelHash: string;
  executionProvider: string;
  seconds: number;
}

/** Method name -> params and result. Later issues add training and synthesis here. */
export interface EngineMethods {
  ping: { params: PingParams; result: PingResult };
  sleepJob: { params: SleepJobParams; result: SleepJobResult };
  runtimeInfo: { params: Record<string, never>; result: RuntimeInfoResult };
  synthesize: { params: SynthesizeParams; result: SynthesizeResult };
}

export type EngineMethod = keyof EngineMethods;
export type MethodParams<M extends EngineMethod> = EngineMethods[M]['params'];
export type MethodResult<M extends EngineMethod> = EngineMethods[M]['result'];

// ---- errors --------------------------------------------------------------------------------

/** Error codes the engine itself produces; handlers' UserErrors bring their own codes. */
export const ENGINE_ERROR = {
  /** the request was cancelled before it finished */
  cancelled: 'CANCELLED',
  /** the method name is not in the table */
  unknownMethod: 'UNKNOWN_METHOD',
  /** the message was not a valid request */
  badMessage: 'BAD_MESSAGE',
  /** a bug or an unexpected fault in the engine */
  internal: 'INTERNAL',
} as const;

export interface EngineErrorPayload {
  code: string;
  message: string;
  /** true when the user can act on it (a UserError in the engine) */
  user: boolean;
}

// ---- messages ------------------------------------------------------------------------------

export interface RequestMessage<M extends EngineMethod = EngineMethod> {
  type: 'request';
  seq: number;
  method: M;
  params: MethodParams<M>;
  /** the job this request runs for; echoed in its progress events */
  jobId?: number;
}

/** Asks the engine to stop the request `seq` at its next cancellation check. */
export interface CancelMessage {
  type: 'cancel';
  seq: number;
}

export type HostToEngine = RequestMessage | CancelMessage;

/** Sent once the engine listens for messages; the host sends nothing before it. */
export interface ReadyMessage {
  type: 'ready';
  protocolVersion: number;
  pid: number;
}

export type ReplyMessage =
  | { type: 'reply'; seq: number; result: unknown }
  | { type: 'reply'; seq: number; error: EngineErrorPayload };

export interface ProgressEvent {
  jobId: number | null;
  step: number;
  total: number;
  loss?: number;
  etaSeconds?: number;
  message?: string;
  /** content hash of a preview image in the project's blob store */
  preview?: string;
}

export interface ProgressMessage extends ProgressEvent {
  type: 'progress';
  seq: number;
}

export type LogLevel = 'info' | 'warn' | 'error';

export interface LogMessage {
  type: 'log';
  level: LogLevel;
  message: string;
  /** the request the line belongs to, when there is one */
  seq?: number;
}

export type EngineToHost = ReadyMessage | ReplyMessage | ProgressMessage | LogMessage;

// ---- validation (messages cross a process boundary, so both ends check their shape) --------

function isRecord(v: unknown): v is Record<string, unknown> {
  return typeof v === 'object' && v !== null && !Array.isArray(v);
}

function isSeq(v: unknown): v is number {
  return typeof v === 'number' && Number.isInteger(v) && v >= 0;
}

/** Returns why `msg` is not a HostToEngine message, or null when it is one. */
export function hostMessageProblem(msg: unknown): string | null {
  if (!isRecord(msg)) return 'message is not an object';
  if (msg.type === 'cancel') return isSeq(msg.seq) ? null : 'cancel without a valid seq';
  if (msg.type !== 'request') return `unknown message type ${JSON.stringify(msg.type)}`;
  if (!isSeq(msg.seq)) return 'request without a valid seq';
  if (typeof msg.method !== 'string') return 'request without a method name';
  if (msg.jobId !== undefined && !isSeq(msg.jobId)) return 'request with an invalid jobId';
  return null;
}

/** Returns why `msg` is not an EngineToHost message, or null when it is one. */
export function engineMessageProblem(msg: unknown): string | null {
  if (!isRecord(msg)) return 'message is not an object';
  switch (msg.type) {
    case 'ready':
      return typeof msg.protocolVersion === 'number' ? null : 'ready without protocolVersion';
    case 'reply':
      if (!isSeq(msg.seq)) return 'reply without a valid seq';
      if ('error' in msg) {
        const e = msg.error;
        return isRecord(e) && typeof e.code === 'string' && typeof e.message === 'string' ? null : 'reply with a malformed error';
      }
      return 'result' in msg ? null : 'reply with neither result nor error';
    case 'progress':
      return isSeq(msg.seq) && typeof msg.step === 'number' && typeof msg.total === 'number' ? null : 'progress without seq/step/total';
    case 'log':
      return typeof msg.message === 'string' && (msg.level === 'info' || msg.level === 'warn' || msg.level === 'error')
        ? null
        : 'log without level/message';
    default:
      return `unknown message type ${JSON.stringify(msg.type)}`;
  }
}
