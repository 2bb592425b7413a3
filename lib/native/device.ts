/**
 * Where a model runs: 'cpu' (the default), 'cuda' (the current GPU, normally cuda:0) or 'cuda:N'. The native
 * addon parses these strictly too and is the authority on whether a GPU is usable (a CPU build, or a machine
 * without a visible GPU, fails there with the fix in the message). This module only gives early errors where no
 * model is loaded yet (train configs, CLI flags) and the GPU count for spreading ranks over GPUs.
 */
import { loadNative } from './loader';

export type DeviceName = 'cpu' | 'cuda' | `cuda:${number}`;

const DEVICE_NAME = /^(cpu|cuda|cuda:\d{1,3})$/;
const FORMS = "'cpu', 'cuda' or 'cuda:N' (N = 0, 1, ...)";

/** `value` as a device name, or a TypeError / RangeError naming `what` and the accepted forms. */
export function checkDeviceName(value: unknown, what = 'device'): DeviceName {
  if (typeof value !== 'string') throw new TypeError(`${what} must be a string: ${FORMS}, got ${JSON.stringify(value) ?? String(value)}`);
  if (!DEVICE_NAME.test(value)) throw new RangeError(`${what} '${value}' is not a device name: expected ${FORMS}`);
  return value as DeviceName;
}

/** CUDA devices this process can use: 0 with the CPU build of the addon or without a visible GPU. */
export function cudaDeviceCount(): number {
  return loadNative().buildInfo().cudaDeviceCount;
}
