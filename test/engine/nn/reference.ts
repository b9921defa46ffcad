// Plain-TypeScript reference implementations (float64, naive loops) that the ONNX layer helpers
// are checked against. Written from the textbook definitions, independent of the graph code.

export function matmul(a: ArrayLike<number>, b: ArrayLike<number>, n: number, k: number, m: number): Float64Array {
  const out = new Float64Array(n * m);
  for (let i = 0; i < n; i++) for (let j = 0; j < m; j++) {
    let s = 0;
    for (let l = 0; l < k; l++) s += a[i * k + l]! * b[l * m + j]!;
    out[i * m + j] = s;
  }
  return out;
}

export function conv2dRef(
  x: ArrayLike<number>, [n, c, h, w]: number[],
  weight: ArrayLike<number>, bias: ArrayLike<number> | undefined, outC: number, k: number, stride: number, pad: number,
): { data: Float64Array; shape: number[] } {
  const oh = Math.floor((h! + 2 * pad - k) / stride) + 1;
  const ow = Math.floor((w! + 2 * pad - k) / stride) + 1;
  const out = new Float64Array(n! * outC * oh * ow);
  for (let b = 0; b < n!; b++) for (let o = 0; o < outC; o++) for (let y = 0; y < oh; y++) for (let xx = 0; xx < ow; xx++) {
    let s = bias ? bias[o]! : 0;
    for (let ci = 0; ci < c!; ci++) for (let ky = 0; ky < k; ky++) for (let kx = 0; kx < k; kx++) {
      const iy = y * stride - pad + ky;
      const ix = xx * stride - pad + kx;
      if (iy < 0 || iy >= h! || ix < 0 || ix >= w!) continue;
      s += x[((b * c! + ci) * h! + iy) * w! + ix]! * weight[((o * c! + ci) * k + ky) * k + kx]!;
    }
    out[((b * outC + o) * oh + y) * ow + xx] = s;
  }
  return { data: out, shape: [n!, outC, oh, ow] };
}

export function groupNormRef(x: ArrayLike<number>, [n, c, h, w]: number[], groups: number, eps: number): Float64Array {
  const out = new Float64Array(n! * c! * h! * w!);
  const per = (c! / groups) * h! * w!;
  for (let b = 0; b < n!; b++) for (let g = 0; g < groups; g++) {
    const start = (b * c! + g * (c! / groups)) * h! * w!;
    let mean = 0;
    for (let i = 0; i < per; i++) mean += x[start + i]!;
    mean /= per;
    let variance = 0;
    for (let i = 0; i < per; i++) variance += (x[start + i]! - mean) ** 2;
    variance /= per;
    for (let i = 0; i < per; i++) out[start + i] = (x[start + i]! - mean) / Math.sqrt(variance + eps);
  }
  return out;
}

/** Single-batch attention: q [N, d], k [M, d], v [M, dv]; weights [N, M] multiply the probs. */
export function attentionRef(q: Float64Array, k: Float64Array, v: Float64Array, n: number, m: number, d: number, dv: number, weights?: ArrayLike<number>): Float64Array {
  const out = new Float64Array(n * dv);
  for (let i = 0; i < n; i++) {
    const scores = new Float64Array(m);
    let max = -Infinity;
    for (let j = 0; j < m; j++) {
      let s = 0;
      for (let l = 0; l < d; l++) s += q[i * d + l]! * k[j * d + l]!;
      scores[j] = s / Math.sqrt(d);
      max = Math.max(max, scores[j]!);
    }
    let total = 0;
    for (let j = 0; j < m; j++) total += (scores[j] = Math.exp(scores[j]! - max));
    for (let j = 0; j < m; j++) {
      const p = (scores[j]! / total) * (weights ? weights[i * m + j]! : 1);
      for (let l = 0; l < dv; l++) out[i * dv + l]! += p * v[j * dv + l]!;
    }
  }
  return out;
}

export function maxAbsDiff(a: ArrayLike<number>, b: ArrayLike<number>): number {
  if (a.length !== b.length) throw new Error(`length ${a.length} vs ${b.length}`);
  let m = 0;
  for (let i = 0; i < a.length; i++) m = Math.max(m, Math.abs(a[i]! - b[i]!));
  return m;
}
