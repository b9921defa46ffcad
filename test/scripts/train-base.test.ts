// `npm run train:base` as users run it: the script itself, with --smoke. On two or more cores the
// decoder phase runs in a second process of the same script beside the latents and the UNet.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { existsSync } from 'node:fs';
import { availableParallelism } from 'node:os';
import path from 'node:path';
import { makeTempDir } from '../fixtures/temp-dir';
import { SMOKE_PLAN_V3, TrainLog, decoderLogPath, trainLogPath } from '../../src/engine/models/tiny-ldm/train';

const tmp = makeTempDir('train-base script');
test.after(() => tmp.cleanup());
const script = path.join(import.meta.dirname, '..', '..', 'scripts', 'train-base.ts');

function trainBase(args: string[]): { status: number | null; output: string } {
  const r = spawnSync(process.execPath, ['--import', 'tsx', script, ...args], { encoding: 'utf8', timeout: 240_000 });
  return { status: r.status, output: r.stdout + r.stderr };
}

const decoderEvents = (dir: string): unknown[] => new TrainLog(trainLogPath(dir)).records().filter((r) => r.phase === 'decoder').map((r) => r.event);
const decoderSteps = (dir: string): number => new TrainLog(decoderLogPath(dir)).records().filter((r) => r.phase === 'decoder' && typeof r.step === 'number').length;

test('train:base --smoke: the decoder phase runs in a second process on 2+ cores, in this one with --sequential', { timeout: 300_000 }, () => {
  const beside = path.join(tmp.dir, 'beside');
  const run = trainBase(['--smoke', '--dir', beside]);
  assert.equal(run.status, 0, run.output);
  assert.ok(existsSync(path.join(beside, 'package', 'manifest.json')), run.output);
  assert.match(run.output, /^pretraining done; log: .*train-log\.jsonl$/m);
  const steps = SMOKE_PLAN_V3.decoder!.steps;
  assert.equal(decoderSteps(beside), steps);
  if (availableParallelism() >= 2) {
    assert.deepEqual(decoderEvents(beside), ['started-beside', 'beside-ended']);
    assert.match(run.output, /"only":"decoder"/, 'a second run of the script did the decoder phase');
    // both processes print to this terminal: each final line says which run it ends
    assert.match(run.output, /^the decoder phase done; log: .*train-log-decoder\.jsonl$/m);
    assert.equal(new TrainLog(trainLogPath(beside)).records().find((r) => r.event === 'beside-ended')?.['how'], 'exit code 0');
  } else {
    assert.deepEqual(decoderEvents(beside), []);
  }

  const sequential = path.join(tmp.dir, 'sequential');
  const seq = trainBase(['--smoke', '--dir', sequential, '--sequential']);
  assert.equal(seq.status, 0, seq.output);
  assert.deepEqual(decoderEvents(sequential), []);
  assert.equal(decoderSteps(sequential), steps);
  assert.doesNotMatch(seq.output, /"only":"decoder"/);
});
