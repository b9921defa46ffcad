// Liveness check: answers at once with the engine's pid.
import type { MethodHandler } from '../handler';
import { optionalStringParam, paramsObject } from '../params';

export const ping: MethodHandler<'ping'> = async (raw) => {
  const echo = optionalStringParam('ping', paramsObject('ping', raw), 'echo');
  return { echo: echo ?? null, pid: process.pid };
};
