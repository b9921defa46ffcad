// Noise schedules: betas -> cumulative alphas (abar_t = prod_{s<=t} (1 - beta_s)), and the
// subset of diffusers' scheduler_config.json that defines them.

export type BetaSchedule = 'linear' | 'scaled_linear' | 'squaredcos_cap_v2';
export type PredictionType = 'epsilon' | 'v_prediction';
/** how inference timesteps are spread over the training range (diffusers' names) */
export type TimestepSpacing = 'leading' | 'trailing' | 'linspace';

export interface ScheduleConfig {
  numTrainTimesteps: number;
  betaStart: number;
  betaEnd: number;
  betaSchedule: BetaSchedule;
  predictionType: PredictionType;
  timestepSpacing: TimestepSpacing;
  /** added to every inference timestep ('leading' spacing; SD 1.x uses 1) */
  stepsOffset: number;
  /** DDIM: abar used after the last step (true: 1.0, false: abar_0) */
  setAlphaToOne: boolean;
  /**
   * Zero terminal SNR (Lin et al. 2024, diffusers' rescale_betas_zero_snr): sqrt(abar) is shifted
   * and rescaled so that its last level is exactly 0 and its first unchanged. Absent: off. Needs
   * v-prediction, since eps cannot give x0 where abar = 0.
   */
  rescaleBetasZeroSnr?: boolean;
}

/** The paper's LDM schedule (METHOD.md): T=1000, scaled-linear betas 0.00085..0.012. */
export const LDM_SCHEDULE: ScheduleConfig = {
  numTrainTimesteps: 1000,
  betaStart: 0.00085,
  betaEnd: 0.012,
  betaSchedule: 'scaled_linear',
  predictionType: 'epsilon',
  timestepSpacing: 'leading',
  stepsOffset: 1,
  setAlphaToOne: false,
};

export function betas(config: ScheduleConfig): Float64Array {
  const T = config.numTrainTimesteps;
  const out = new Float64Array(T);
  switch (config.betaSchedule) {
    case 'linear':
      for (let i = 0; i < T; i++) out[i] = config.betaStart + ((config.betaEnd - config.betaStart) * i) / Math.max(1, T - 1);
      break;
    case 'scaled_linear': {
      // linear in sqrt(beta)
      const a = Math.sqrt(config.betaStart);
      const b = Math.sqrt(config.betaEnd);
      for (let i = 0; i < T; i++) out[i] = (a + ((b - a) * i) / Math.max(1, T - 1)) ** 2;
      break;
    }
    case 'squaredcos_cap_v2': {
      // Nichol & Dhariwal's cosine schedule: abar(t) = cos^2(((t/T) + s) / (1 + s) * pi/2), s = 0.008,
      // beta_t = 1 - abar(t+1)/abar(t), capped at 0.999
      const abar = (t: number): number => Math.cos(((t / T + 0.008) / 1.008) * (Math.PI / 2)) ** 2;
      for (let i = 0; i < T; i++) out[i] = Math.min(1 - abar(i + 1) / abar(i), 0.999);
      break;
    }
  }
  return out;
}

export function alphasCumprod(config: ScheduleConfig): Float64Array {
  const b = betas(config);
  const out = new Float64Array(b.length);
  let prod = 1;
  for (let i = 0; i < b.length; i++) {
    prod *= 1 - b[i]!;
    out[i] = prod;
  }
  if (config.rescaleBetasZeroSnr) rescaleZeroTerminalSnr(out);
  return out;
}

/**
 * Lin et al. 2024, Algorithm 1, on abar in place: s_t = sqrt(abar_t) becomes
 * (s_t - s_T) * s_0 / (s_0 - s_T), so s_0 is kept and s_T = 0. Without it the last level of the
 * scaled-linear schedule keeps sqrt(abar) = 0.068 of the image, a leak of the image's mean colour
 * that a UNet learns to read instead of its conditioning (train/unet-phase.ts).
 */
function rescaleZeroTerminalSnr(abar: Float64Array): void {
  const first = Math.sqrt(abar[0]!);
  const last = Math.sqrt(abar[abar.length - 1]!);
  for (let i = 0; i < abar.length; i++) abar[i] = (((Math.sqrt(abar[i]!) - last) * first) / (first - last)) ** 2;
}

/** Refuses settings no sampler can run: zero terminal SNR with eps-prediction (x0 = (z - sqrt(1-abar) eps) / 0). */
function checkSchedule(config: ScheduleConfig, source: string): void {
  if (config.rescaleBetasZeroSnr && config.predictionType !== 'v_prediction') {
    throw new Error(`${source}: rescale_betas_zero_snr needs prediction_type 'v_prediction' (with '${config.predictionType}' the last timestep cannot give the clean sample)`);
  }
}

/** Inference timesteps, descending, as diffusers spaces them. */
export function spacedTimesteps(config: ScheduleConfig, steps: number): number[] {
  const T = config.numTrainTimesteps;
  if (!Number.isInteger(steps) || steps < 1 || steps > T) {
    throw new RangeError(`number of sampling steps must be an integer in 1..${T}, got ${steps}`);
  }
  const out: number[] = [];
  switch (config.timestepSpacing) {
    case 'leading': {
      const ratio = Math.floor(T / steps);
      for (let i = steps - 1; i >= 0; i--) out.push(i * ratio + config.stepsOffset);
      break;
    }
    case 'trailing': {
      const ratio = T / steps;
      for (let i = 0; i < steps; i++) out.push(Math.round(T - i * ratio) - 1);
      break;
    }
    case 'linspace':
      for (let i = steps - 1; i >= 0; i--) out.push(Math.round((i * (T - 1)) / Math.max(1, steps - 1)));
      break;
  }
  return out.map((t) => Math.min(T - 1, Math.max(0, t)));
}

/**
 * Reads diffusers' scheduler_config.json (as shipped with SD 1.x ONNX folders). Unknown keys are
 * ignored; known keys with unusable values are errors naming the key.
 */
export function parseSchedulerConfig(json: unknown, source = 'scheduler_config.json'): ScheduleConfig {
  if (typeof json !== 'object' || json === null) throw new Error(`${source}: not a JSON object`);
  const j = json as Record<string, unknown>;
  const num = (key: string, fallback: number): number => {
    const v = j[key];
    if (v === undefined || v === null) return fallback;
    if (typeof v !== 'number' || !Number.isFinite(v)) throw new Error(`${source}: '${key}' must be a number`);
    return v;
  };
  const oneOf = <T extends string>(key: string, allowed: readonly T[], fallback: T): T => {
    const v = j[key];
    if (v === undefined || v === null) return fallback;
    if (typeof v !== 'string' || !allowed.includes(v as T)) {
      throw new Error(`${source}: '${key}' is '${String(v)}'; supported: ${allowed.join(', ')}`);
    }
    return v as T;
  };
  if (j['trained_betas'] !== undefined && j['trained_betas'] !== null) {
    throw new Error(`${source}: 'trained_betas' is not supported; give beta_start/beta_end/beta_schedule`);
  }
  const config: ScheduleConfig = {
    numTrainTimesteps: num('num_train_timesteps', 1000),
    betaStart: num('beta_start', 0.0001),
    betaEnd: num('beta_end', 0.02),
    betaSchedule: oneOf('beta_schedule', ['linear', 'scaled_linear', 'squaredcos_cap_v2'] as const, 'linear'),
    predictionType: oneOf('prediction_type', ['epsilon', 'v_prediction'] as const, 'epsilon'),
    timestepSpacing: oneOf('timestep_spacing', ['leading', 'trailing', 'linspace'] as const, 'leading'),
    stepsOffset: num('steps_offset', 0),
    setAlphaToOne: j['set_alpha_to_one'] === undefined ? true : Boolean(j['set_alpha_to_one']),
    ...(j['rescale_betas_zero_snr'] === true ? { rescaleBetasZeroSnr: true } : {}),
  };
  checkSchedule(config, source);
  return config;
}
