// Nearest-neighbour x2 upsampling of NCHW. Two equivalent forms:
//  - 'resize': Resize(mode=nearest, scales [1, 1, 2, 2]) - one op, what exported UNets contain;
//  - 'expand': Reshape [N,C,H,1,W,1] -> Expand [N,C,H,2,W,2] -> Reshape [N,C,2H,2W]; every output
//    pixel (2i+a, 2j+b) copies input (i, j), the same map as nearest with scale 2.

import type { Net, Value } from './net';

export function upsampleNearest2x(net: Net, x: Value, impl: 'resize' | 'expand' = 'resize'): Value {
  if (x.shape.length !== 4) throw new Error(`upsample: input '${x.name}' must be NCHW, got [${x.shape}]`);
  const [n, c, h, w] = x.shape as [number, number, number, number];
  const out = [n, c, 2 * h, 2 * w];
  if (impl === 'resize') {
    const scales = net.constant([1, 1, 2, 2], [4], 'upsample_scales');
    return net.op('Resize', [x.name, '', scales.name], out, { mode: 'nearest', coordinate_transformation_mode: 'asymmetric', nearest_mode: 'floor' });
  }
  const spread = net.reshape(x, [n, c, h, 1, w, 1]);
  const expanded = net.op('Expand', [spread.name, net.b.ints([n, c, h, 2, w, 2])], [n, c, h, 2, w, 2]);
  return net.reshape(expanded, out);
}
