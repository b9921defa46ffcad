// SiLU (swish): x * sigmoid(x). ONNX has no SiLU op before opset 24 (Swish), so it is the pair.

import { mul, type Net, type Value } from './net';

export function silu(net: Net, x: Value): Value {
  return mul(net, x, net.op('Sigmoid', [x.name], x.shape));
}
