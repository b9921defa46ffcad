import { test } from 'node:test';
import assert from 'node:assert/strict';
import { throttleProgress } from '../../../src/main/api/throttle';

test('progress: first call passes, then at most one per interval, and always the last', () => {
  let clock = 0;
  const seen: [number, number][] = [];
  const report = throttleProgress((d, t) => seen.push([d, t]), 100, () => clock);
  for (let done = 1; done <= 10; done++) {
    clock = done * 30; // 30 ms apart: 30, 60, ..., 300
    report(done, 10);
  }
  // passes at t=30 (first), t=150 (>=100 after 30), t=270 (>=100 after 150) and done==total at t=300
  assert.deepEqual(seen, [[1, 10], [5, 10], [9, 10], [10, 10]]);
});
