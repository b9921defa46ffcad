import { test } from 'node:test';
import assert from 'node:assert/strict';
import { Rng } from '../../../src/shared/random';
import { alphasCumprod, LDM_SCHEDULE, parseSchedulerConfig, spacedTimesteps, type ScheduleConfig } from '../../../src/engine/diffusion/schedule';
import { DdimScheduler } from '../../../src/engine/diffusion/schedulers/ddim';
import { DdpmScheduler } from '../../../src/engine/diffusion/schedulers/ddpm';
import { EulerScheduler } from '../../../src/engine/diffusion/schedulers/euler';
import { createScheduler } from '../../../src/engine/diffusion/schedulers';

const close = (a: number, b: number, tol: number, what: string): void => assert.ok(Math.abs(a - b) <= tol, `${what}: ${a} vs ${b}`);

test('scaled-linear LDM schedule matches closed-form cumulative alphas', () => {
  // Reference values: float64 product of (1 - beta_i) with beta_i = (sqrt(0.00085) + (sqrt(0.012) -
  // sqrt(0.00085)) i / 999)^2, computed separately in Python; SD 1.x's published final abar is 0.00466.
  const abar = alphasCumprod(LDM_SCHEDULE);
  close(abar[0]!, 0.99915, 1e-12, 'abar_0');
  close(abar[1]!, 0.9982960278384514, 1e-12, 'abar_1');
  close(abar[499]!, 0.27766965045646763, 1e-12, 'abar_499');
  close(abar[999]!, 0.004660098513077234, 1e-14, 'abar_999');
});

test('cosine schedule matches Nichol and Dhariwal closed form', () => {
  const cfg: ScheduleConfig = { ...LDM_SCHEDULE, betaSchedule: 'squaredcos_cap_v2' };
  const abar = alphasCumprod(cfg);
  close(abar[0]!, 0.999958715775178, 1e-12, 'abar_0');
  close(abar[500]!, 0.49228517244880304, 1e-12, 'abar_500');
  close(abar[998]!, 2.4287669070348544e-6, 1e-15, 'abar_998');
});

test('linear schedule of constant beta gives abar_t = (1 - beta)^(t + 1)', () => {
  const cfg: ScheduleConfig = { ...LDM_SCHEDULE, numTrainTimesteps: 10, betaStart: 0.1, betaEnd: 0.1, betaSchedule: 'linear' };
  const abar = alphasCumprod(cfg);
  for (let t = 0; t < 10; t++) close(abar[t]!, 0.9 ** (t + 1), 1e-14, `abar_${t}`);
});

test('zero-terminal-SNR rescaling: sqrt(abar) shifted and stretched so abar_0 stays and abar_T = 0', () => {
  // Reference values from numpy (Lin et al. 2024, Algorithm 1, on the float64 cumulative product)
  const ldm = alphasCumprod({ ...LDM_SCHEDULE, predictionType: 'v_prediction', rescaleBetasZeroSnr: true });
  close(ldm[0]!, 0.99915, 1e-12, 'abar_0');
  close(ldm[1]!, 0.9982334461401825, 1e-12, 'abar_1');
  close(ldm[499]!, 0.24235916655614523, 1e-12, 'abar_499');
  close(ldm[998]!, 1.9678880566212916e-7, 1e-15, 'abar_998');
  assert.equal(ldm[999], 0, 'abar_999');
  // constant beta 0.1 over 10 steps: s_t = 0.9^((t + 1) / 2) before rescaling
  const toyAbar = alphasCumprod({ ...LDM_SCHEDULE, numTrainTimesteps: 10, betaStart: 0.1, betaEnd: 0.1, betaSchedule: 'linear', predictionType: 'v_prediction', rescaleBetasZeroSnr: true });
  const expected = [0.9, 0.6719809609051561, 0.4863978862009221, 0.3379996242184696, 0.22211184286727517, 0.13457669437742228, 0.07169864972626645, 0.030195878793826004, 0.007156615045370338, 0];
  expected.forEach((e, t) => close(toyAbar[t]!, e, 1e-14, `toy abar_${t}`));
});

test('zero terminal SNR: DDIM from pure noise with the true v recovers x0; Euler stays finite; eps-prediction is refused', () => {
  // set_alpha_to_one: the last step lands on the clean sample itself (abar 1, not abar_0)
  const cfg: ScheduleConfig = { ...LDM_SCHEDULE, predictionType: 'v_prediction', timestepSpacing: 'trailing', rescaleBetasZeroSnr: true, setAlphaToOne: true };
  const abar = alphasCumprod(cfg);
  const x0 = new Float32Array([0.7, -1.2, 0.05]);
  const rng = new Rng(3);
  const ddim = new DdimScheduler(cfg, 10);
  assert.equal(ddim.timesteps[0], 999, 'trailing spacing starts at the pure-noise level');
  let z: Float32Array = Float32Array.from(rng.normals(3));
  for (let i = 0; i < ddim.timesteps.length; i++) {
    // an oracle model: the exact v for this x0 at this level (eps read back from z)
    const a = abar[ddim.timesteps[i]!]!;
    const v = z.map((zk, k) => {
      const eps = a < 1 ? (zk - Math.sqrt(a) * x0[k]!) / Math.sqrt(1 - a) : 0;
      return Math.sqrt(a) * eps - Math.sqrt(1 - a) * x0[k]!;
    });
    z = ddim.step(i, v, z, rng).prevSample;
  }
  x0.forEach((x, k) => close(z[k]!, x, 1e-5, `x0[${k}]`));
  const euler = new EulerScheduler(cfg, 10);
  assert.ok(Array.from(euler.sigmas).every(Number.isFinite), 'Euler sigmas finite');
  assert.throws(() => parseSchedulerConfig({ prediction_type: 'epsilon', rescale_betas_zero_snr: true }), /rescale_betas_zero_snr.*v_prediction/);
  assert.deepEqual(parseSchedulerConfig({ beta_schedule: 'scaled_linear', beta_start: 0.00085, beta_end: 0.012, prediction_type: 'v_prediction', timestep_spacing: 'trailing', steps_offset: 0, set_alpha_to_one: true, rescale_betas_zero_snr: true }), { ...cfg, stepsOffset: 0 });
});

test('timestep spacings follow diffusers', () => {
  assert.deepEqual(spacedTimesteps(LDM_SCHEDULE, 4), [751, 501, 251, 1]); // leading, offset 1, ratio 250
  assert.deepEqual(spacedTimesteps({ ...LDM_SCHEDULE, timestepSpacing: 'trailing' }, 4), [999, 749, 499, 249]);
  assert.deepEqual(spacedTimesteps({ ...LDM_SCHEDULE, timestepSpacing: 'linspace' }, 4), [999, 666, 333, 0]);
  assert.throws(() => spacedTimesteps(LDM_SCHEDULE, 0), /1\.\.1000/);
});

// T = 10, beta = 0.1 everywhere: abar_t = 0.9^(t+1); 5 leading steps -> timesteps [8, 6, 4, 2, 0].
const toy: ScheduleConfig = { ...LDM_SCHEDULE, numTrainTimesteps: 10, betaStart: 0.1, betaEnd: 0.1, betaSchedule: 'linear', stepsOffset: 0 };

test('a DDIM step equals the hand-computed value (eta 0 and eta 1)', () => {
  const ddim = new DdimScheduler(toy, 5, 0);
  assert.deepEqual(ddim.timesteps, [8, 6, 4, 2, 0]);
  // step 1: t = 6, a_t = 0.9^7 = 0.4782969, next t = 4, a_p = 0.9^5 = 0.59049; z = 1, eps = 0.5
  // x0 = (1 - sqrt(1 - a_t) 0.5) / sqrt(a_t) = 0.923747880428076
  // z_p = sqrt(a_p) x0 + sqrt(1 - a_p) 0.5 = 1.0298036322936572
  const r = ddim.step(1, new Float32Array([0.5]), new Float32Array([1]), new Rng(0));
  close(r.predOriginal[0]!, 0.923747880428076, 1e-6, 'x0');
  close(r.prevSample[0]!, 1.0298036322936572, 1e-6, 'z_prev eta=0');
  // eta = 1: sigma = sqrt((1-a_p)/(1-a_t) (1 - a_t/a_p)) = 0.3861867307918449, direction coefficient
  // sqrt(1 - a_p - sigma^2) = 0.5102644500259714, mean 0.9649710154880455; the noise is the rng's normal
  const rng = new Rng(3);
  const expectedNoise = new Rng(3).normal();
  const r1 = new DdimScheduler(toy, 5, 1).step(1, new Float32Array([0.5]), new Float32Array([1]), rng);
  close(r1.prevSample[0]!, 0.9649710154880455 + 0.3861867307918449 * expectedNoise, 1e-6, 'z_prev eta=1');
});

test('DDIM with eta 0 recovers x0 exactly when the model predicts the true noise', () => {
  const rng = new Rng(11);
  const x0 = rng.normals(64);
  const eps = rng.normals(64);
  // set_alpha_to_one: the last step lands on abar = 1 (SD's 'false' stops at abar_0, slightly noisy)
  const cfg = { ...LDM_SCHEDULE, setAlphaToOne: true };
  const ddim = new DdimScheduler(cfg, 20, 0);
  const abar = alphasCumprod(cfg);
  let z = ddim.noiseTo(x0, eps, 0);
  for (let i = 0; i < ddim.timesteps.length; i++) {
    // the "model" is an oracle: the noise that, at this level, explains z given the true x0
    const a = abar[ddim.timesteps[i]!]!;
    const oracle = z.map((v, k) => (v - Math.sqrt(a) * x0[k]!) / Math.sqrt(1 - a));
    z = ddim.step(i, oracle, z, rng).prevSample;
  }
  for (let k = 0; k < 64; k++) close(z[k]!, x0[k]!, 1e-3, `x0[${k}]`);
});

test('one Euler step equals one deterministic DDIM step (same ODE discretisation)', () => {
  const ddim = new DdimScheduler(toy, 5, 0);
  const euler = new EulerScheduler(toy, 5);
  const z = new Float32Array([1, -0.3]);
  const eps = new Float32Array([0.5, 0.2]);
  const sigma1 = euler.sigmas[1]!;
  const x = z.map((v) => v * Math.sqrt(sigma1 ** 2 + 1)); // VE-space sample of the same z
  // the model input Euler hands over must be z itself
  euler.scaleModelInput(x, 1).forEach((v, k) => close(v, z[k]!, 1e-6, 'scaled input'));
  const e = euler.step(1, eps, x).prevSample;
  const d = ddim.step(1, eps, z, new Rng(0)).prevSample;
  const sigma2 = euler.sigmas[2]!;
  for (let k = 0; k < 2; k++) close(e[k]! / Math.sqrt(sigma2 ** 2 + 1), d[k]!, 1e-6, `sample ${k}`);
  close(e[0]!, 1.3401337534001991, 1e-6, 'hand-computed Euler x_next');
});

test('DDPM forward noising and the last ancestral step are noise-free at level N', () => {
  const ddpm = new DdpmScheduler(toy);
  const x0 = new Float32Array([2]);
  const noise = new Float32Array([1]);
  close(ddpm.addNoise(x0, noise, 3)[0]!, Math.sqrt(0.9 ** 4) * 2 + Math.sqrt(1 - 0.9 ** 4), 1e-6, 'q(z_3|z_0)');
  assert.deepEqual(Array.from(ddpm.noiseTo(x0, noise, ddpm.timesteps.length)), [2]);
  // last step (t = 0 -> clean): mean only; with the true noise it returns x0
  const t0 = ddpm.timesteps.length - 1;
  const z = ddpm.noiseTo(x0, noise, t0);
  close(ddpm.step(t0, noise, z, new Rng(1)).prevSample[0]!, 2, 1e-5, 'final DDPM step');
});

test('v-prediction converts to the same x0 as epsilon-prediction', () => {
  const cfgV: ScheduleConfig = { ...toy, predictionType: 'v_prediction' };
  const a = 0.9 ** 7; // level 1
  const x0 = 0.8, eps = -0.4;
  const z = Math.sqrt(a) * x0 + Math.sqrt(1 - a) * eps;
  const v = Math.sqrt(a) * eps - Math.sqrt(1 - a) * x0;
  const got = new DdimScheduler(cfgV, 5).predictOriginal(1, new Float32Array([v]), new Float32Array([z]));
  close(got[0]!, x0, 1e-6, 'x0 from v');
});

test('scheduler_config.json of SD 1.x parses; bad values name the key', () => {
  const sd = { _class_name: 'PNDMScheduler', beta_end: 0.012, beta_schedule: 'scaled_linear', beta_start: 0.00085, num_train_timesteps: 1000, set_alpha_to_one: false, skip_prk_steps: true, steps_offset: 1, trained_betas: null };
  const cfg = parseSchedulerConfig(sd);
  assert.deepEqual(cfg, LDM_SCHEDULE);
  assert.throws(() => parseSchedulerConfig({ ...sd, beta_schedule: 'sigmoid' }), /beta_schedule.*sigmoid/);
  assert.throws(() => parseSchedulerConfig({ ...sd, beta_start: 'x' }), /beta_start/);
  assert.throws(() => createScheduler(cfg, { sampler: 'ddim', steps: 10, eta: 2 }), /eta/);
});
