// Mask alignment and the weight-free diversity measures, on values worked by hand.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { blankMask, blankPicture, type Mask, type Picture } from '../../../src/engine/eval/picture';
import { diversity, maskAlignment } from '../../../src/engine/eval/quality';

function grey(values: number[], width: number): Picture {
  const p = blankPicture(width, values.length / width);
  values.forEach((v, i) => p.data.fill(v, i * 3, i * 3 + 3));
  return p;
}

function mask(bits: number[], width: number): Mask {
  const m = blankMask(width, bits.length / width);
  m.data.set(bits);
  return m;
}

test('mask alignment is the share of the change inside the mask', () => {
  const normal = grey([0.5, 0.5, 0.5, 0.5], 2);
  // change 0.3 inside the mask (pixel 0), 0.1 outside (pixel 3): 0.9 / (0.9 + 0.3) over RGB
  const generated = grey([0.8, 0.5, 0.5, 0.6], 2);
  assert.ok(Math.abs(maskAlignment(generated, normal, mask([1, 0, 0, 0], 2)) - 0.75) < 1e-6);
  assert.equal(maskAlignment(generated, normal, mask([1, 0, 0, 1], 2)), 1);
  assert.ok(Number.isNaN(maskAlignment(normal, normal, mask([1, 0, 0, 0], 2))), 'no change: undefined');
});

test('diversity: identical samples give 0, an inverted crop 1, disjoint masks a mask diversity of 1', () => {
  const m = mask([1, 1, 0, 0, 1, 1, 0, 0, 0], 3);
  const a = grey([0.1, 0.9, 0, 0.9, 0.1, 0, 0, 0, 0], 3);
  // 1 - a everywhere: after removing the mean, the crop is the negative of a's (NCC = -1)
  const inverted = grey([0.9, 0.1, 1, 0.1, 0.9, 1, 1, 1, 1], 3);
  const same = diversity([{ picture: a, mask: m }, { picture: a, mask: m }]);
  assert.ok(Math.abs(same.appearance) < 1e-12 && same.mask === 0, JSON.stringify(same));
  const opposite = diversity([{ picture: a, mask: m }, { picture: inverted, mask: m }]);
  assert.ok(Math.abs(opposite.appearance - 1) < 1e-12, JSON.stringify(opposite));
  const other = mask([0, 0, 0, 0, 0, 0, 0, 0, 1], 3);
  assert.equal(diversity([{ picture: a, mask: m }, { picture: a, mask: other }]).mask, 1);
  // three samples: the mean over the three pairs
  assert.ok(Math.abs(diversity([{ picture: a, mask: m }, { picture: a, mask: m }, { picture: inverted, mask: m }]).appearance - 2 / 3) < 1e-12);
});
