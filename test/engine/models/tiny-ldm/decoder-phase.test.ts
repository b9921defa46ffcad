// The decoder phase (plan.decoder): a wider decoder trained from scratch on the finished VAE's
// frozen encoder. What users of the package rely on: the encoder (and so the cached latents and
// the UNet) is exactly the VAE's, the package ships the new decoder, and adding the phase to a
// plan leaves the checkpoints of the other phases valid (a running pretraining can take it on).
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { readCheckpoint } from '../../../../src/engine/autodiff/checkpoint';
import { loadModel } from '../../../../src/engine/onnx/io';
import { parseManifest } from '../../../../src/engine/models/builtin/manifest';
import { SMOKE_PLAN_V2, TrainLog, decoderLogPath, fingerprint, runPretraining, trainLogPath, type PhaseBeside } from '../../../../src/engine/models/tiny-ldm/train';
import { decoderCheckpointPath } from '../../../../src/engine/models/tiny-ldm/train/decoder-phase';
import { vaeCheckpointPath } from '../../../../src/engine/models/tiny-ldm/train/vae-phase';
import { VAE_DECODER_PREFIX, VAE_ENCODER_PREFIX } from '../../../../src/engine/models/tiny-ldm/vae';

const root = mkdtempSync(path.join(tmpdir(), 'decoder phase é-'));
test.after(() => rmSync(root, { recursive: true, force: true }));

const mean = (xs: number[]): number => xs.reduce((a, b) => a + b, 0) / xs.length;

test('adding a decoder phase to a plan keeps the VAE, latents and UNet checkpoints valid', () => {
  const without = { ...SMOKE_PLAN_V2, decoder: undefined };
  for (const phase of ['vae', 'latents', 'unet'] as const) assert.equal(fingerprint(SMOKE_PLAN_V2, phase), fingerprint(without, phase), phase);
  // while the decoder's own settings (not its step count) are in its fingerprint
  const wider = { ...SMOKE_PLAN_V2, decoder: { ...SMOKE_PLAN_V2.decoder!, channels: [16, 32, 32, 32] } };
  const longer = { ...SMOKE_PLAN_V2, decoder: { ...SMOKE_PLAN_V2.decoder!, steps: 999 } };
  assert.notEqual(fingerprint(wider, 'decoder'), fingerprint(SMOKE_PLAN_V2, 'decoder'));
  assert.equal(fingerprint(longer, 'decoder'), fingerprint(SMOKE_PLAN_V2, 'decoder'));
  assert.throws(() => fingerprint(without, 'decoder'), /no decoder phase/);
});

test('decoder phase: refused before the VAE; trains a wider decoder on the frozen encoder; the package ships it', { timeout: 300_000 }, async () => {
  const plan = SMOKE_PLAN_V2;
  const decoder = plan.decoder!;
  const dir = path.join(root, 'run');
  const outDir = path.join(dir, 'package ü');
  await assert.rejects(runPretraining({ plan, dir, outDir, phase: 'decoder' }), /needs the finished VAE/);

  const summary = await runPretraining({ plan, dir, outDir });
  assert.equal(summary.complete, true);
  // the decoder phase logs to a file of its own (it may run in another process)
  const losses = new TrainLog(decoderLogPath(dir)).records().filter((r) => r.phase === 'decoder' && typeof r.step === 'number').map((r) => r['loss'] as number);
  assert.equal(new TrainLog(trainLogPath(dir)).records().filter((r) => r.phase === 'decoder' && typeof r.step === 'number').length, 0);
  assert.equal(losses.length, decoder.steps);
  assert.ok(mean(losses.slice(-10)) < 0.8 * mean(losses.slice(0, 10)), `decoder loss did not go down: ${mean(losses.slice(0, 10))} -> ${mean(losses.slice(-10))}`);
  const psnr = summary.decoder?.eval?.heldoutPsnr;
  assert.ok(typeof psnr === 'number' && psnr > 10, `decoder held-out PSNR ${psnr}`);

  const vae = await readCheckpoint(vaeCheckpointPath(dir));
  const trained = await readCheckpoint(decoderCheckpointPath(dir));
  assert.ok(Object.keys(trained.params).length > 0 && Object.keys(trained.params).every((n) => n.startsWith(VAE_DECODER_PREFIX)), 'the decoder phase trains decoder weights only');

  const manifest = parseManifest(JSON.parse(readFileSync(path.join(outDir, 'manifest.json'), 'utf8')), 'manifest');
  // the shipped encoder is the VAE's, value for value
  const encoder = await loadModel(path.join(outDir, manifest.files.vae_encoder.path));
  const encoderParams = Object.entries(vae.params).filter(([name]) => name.startsWith(VAE_ENCODER_PREFIX) && !name.includes('conv_logvar'));
  assert.ok(encoderParams.length > 0);
  for (const [name, p] of encoderParams) {
    const t = encoder.graph.initializers.get(name);
    assert.ok(t, `${name}: not in the exported encoder`);
    assert.deepEqual(Array.from(t.data as Float32Array), Array.from(p.data), name);
  }
  // the shipped decoder is the phase's: its widths and its values
  const shipped = await loadModel(path.join(outDir, manifest.files.vae_decoder.path));
  const convOut = `${VAE_DECODER_PREFIX}.conv_out.weight`;
  assert.deepEqual(shipped.graph.initializers.get(convOut)?.dims, [3, decoder.channels[0], 3, 3]);
  assert.deepEqual(Array.from(shipped.graph.initializers.get(convOut)!.data as Float32Array), Array.from(trained.params[convOut]!.data));
  const training = manifest.training as Record<string, Record<string, unknown>>;
  assert.deepEqual(training['decoder']?.['channels'], decoder.channels);
  assert.equal((training['decoder']?.['reconstruction'] as Record<string, unknown>)['heldoutPsnr'], psnr);
  assert.ok((training['cpuSeconds']?.['decoder'] as number) > 0);
});

/** Every file the package's manifest lists, as bytes: equal packages hold equal weights. */
function packageFiles(outDir: string): Map<string, Buffer> {
  const manifest = parseManifest(JSON.parse(readFileSync(path.join(outDir, 'manifest.json'), 'utf8')), 'manifest');
  return new Map(Object.values(manifest.files).map((f) => [f.path, readFileSync(path.join(outDir, f.path))]));
}

test('decoder phase beside the UNet phase: the same package as one after the other, and a failed second process is made up for here', { timeout: 600_000 }, async () => {
  const plan = SMOKE_PLAN_V2;
  const sequential = packageFiles(path.join(root, 'run', 'package ü'));
  assert.ok(sequential.size >= 4, 'the previous test made the sequential package');

  // the second process, played by a second run in this process: it interleaves with the UNet
  // phase at every await (onnxruntime-node runs synchronously), which is what ordering needs
  const dir = path.join(root, 'beside');
  const outDir = path.join(dir, 'package');
  const started: string[] = [];
  const beside = (): PhaseBeside => {
    started.push('decoder');
    const run = runPretraining({ plan, dir, outDir, phase: 'decoder' });
    return { ended: run.then((s) => `complete ${s.complete}`), stop: () => assert.fail('stop() is for a run that ends first') };
  };
  const summary = await runPretraining({ plan, dir, outDir, decoderBeside: beside });
  assert.equal(summary.complete, true);
  assert.deepEqual(started, ['decoder']);
  assert.deepEqual(packageFiles(outDir), sequential);
  const events = new TrainLog(trainLogPath(dir)).records().filter((r) => r.phase === 'decoder').map((r) => r.event);
  assert.deepEqual(events, ['started-beside', 'beside-ended']);
  assert.equal(new TrainLog(decoderLogPath(dir)).records().filter((r) => r.phase === 'decoder' && typeof r.step === 'number').length, plan.decoder!.steps);

  // a finished decoder phase is not started again
  const again = await runPretraining({ plan, dir, outDir, decoderBeside: () => assert.fail('the decoder phase is done') });
  assert.equal(again.complete, true);

  // a second process that ends without doing the phase (it could not start, or failed): the
  // phase runs here after the UNet, from its checkpoint, with the same result
  const failedDir = path.join(root, 'beside failed');
  const failedOut = path.join(failedDir, 'package');
  const failed = await runPretraining({ plan, dir: failedDir, outDir: failedOut, decoderBeside: () => ({ ended: Promise.resolve('exit code 2'), stop: () => undefined }) });
  assert.equal(failed.complete, true);
  assert.deepEqual(packageFiles(failedOut), sequential);
  const failedEvents = new TrainLog(trainLogPath(failedDir)).records().filter((r) => r.phase === 'decoder');
  assert.equal(failedEvents.find((r) => r.event === 'beside-ended')?.['how'], 'exit code 2');
});

test('when this run stops first, the decoder phase beside it is asked to stop and awaited', { timeout: 300_000 }, async () => {
  const plan = SMOKE_PLAN_V2;
  const dir = path.join(root, 'stops first');
  let stopped = false;
  let endedAfterStop = false;
  const beside = (): PhaseBeside => {
    let end!: (how: string) => void;
    const ended = new Promise<string>((resolve) => (end = resolve));
    return {
      ended: ended.then((how) => {
        endedAfterStop = stopped;
        return how;
      }),
      stop: () => {
        stopped = true;
        setTimeout(() => end('signal SIGTERM'), 10);
      },
    };
  };
  // the UNet phase ends mid-way (as at a time cap): the run returns only after the decoder's process ended
  const summary = await runPretraining({ plan, dir, outDir: path.join(dir, 'package'), decoderBeside: beside, crash: { phase: 'unet', step: 3 } });
  assert.equal(summary.complete, false);
  assert.equal(stopped, true);
  assert.equal(endedAfterStop, true);
});
