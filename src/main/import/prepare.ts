// Reads, checks and encodes one planned image and its mask, touching neither the store nor the
// database: the result says which blobs to write and which rows to insert, and what went wrong.
//
// Storage decision: PNG and JPEG images are stored as their original bytes (no re-encode: it is
// the fastest path, keeps the user's exact file, and both formats are displayable and decodable
// everywhere); BMP and TIFF images are stored as PNG of the decoded 8-bit pixels (lossless for
// 8-bit files; browsers cannot show TIFF, and BMP needs our own decoder). Either way the bytes
// are fully decoded once here, so damaged files are caught at import. Masks are always stored as
// binary (0/255) 8-bit single-channel PNG.
import { readFile } from 'node:fs/promises';
import { decodeImage, type DecodedImage } from '../../engine/imaging/decode';
import { encodePng } from '../../engine/imaging/encode';
import { binariseMask } from '../../engine/imaging/mask';
import { isUserError } from '../../shared/errors';
import type { ImportProblem, ImportProblemCode } from '../../shared/dto';
import type { PlannedImage } from './plan';

export interface PreparedBlob {
  bytes: Uint8Array;
  mediaType: string;
}

export interface PreparedImage {
  planned: PlannedImage;
  image: PreparedBlob & { width: number; height: number; channels: number };
  mask: (PreparedBlob & { areaPx: number }) | null;
  problems: ImportProblem[];
}

export type PrepareResult = { ok: true; value: PreparedImage } | { ok: false; problems: ImportProblem[] };

function problem(path: string, severity: 'error' | 'warning', code: ImportProblemCode, message: string): ImportProblem {
  return { path, severity, code, message };
}

/** Reads and decodes a file, turning every failure into an import problem instead of an exception. */
async function load(path: string): Promise<{ bytes: Uint8Array; decoded: DecodedImage } | ImportProblem> {
  let bytes: Uint8Array;
  try {
    bytes = await readFile(path);
  } catch (e) {
    return problem(path, 'error', 'UNREADABLE_IMAGE', `cannot read the file: ${(e as Error).message}`);
  }
  if (bytes.length === 0) return problem(path, 'error', 'EMPTY_FILE', 'the file is empty (0 bytes)');
  try {
    return { bytes, decoded: await decodeImage(bytes, path) };
  } catch (e) {
    if (!isUserError(e)) throw e;
    // decodeImage's message starts with the path, which the problem carries separately
    const reason = e.message.startsWith(`${path}: `) ? e.message.slice(path.length + 2) : e.message;
    return problem(path, 'error', e.code === 'IMAGE_UNSUPPORTED' ? 'UNSUPPORTED_IMAGE' : 'UNREADABLE_IMAGE', reason);
  }
}

function isProblem(x: unknown): x is ImportProblem {
  return typeof x === 'object' && x !== null && 'code' in x && 'severity' in x;
}

export async function prepareImage(planned: PlannedImage): Promise<PrepareResult> {
  const [image, mask] = await Promise.all([load(planned.path), planned.maskPath ? load(planned.maskPath) : Promise.resolve(null)]);
  if (isProblem(image)) {
    const problems = [image];
    if (planned.maskPath) problems.push(problem(planned.maskPath, 'error', 'MASK_WITHOUT_IMAGE', `not imported: its image ${planned.path} was rejected`));
    return { ok: false, problems };
  }
  const { decoded } = image;
  const keepOriginal = decoded.format === 'png' || decoded.format === 'jpeg';
  const stored: PreparedImage['image'] = {
    bytes: keepOriginal ? image.bytes : await encodePng(decoded),
    mediaType: keepOriginal ? (decoded.format === 'png' ? 'image/png' : 'image/jpeg') : 'image/png',
    width: decoded.width,
    height: decoded.height,
    channels: decoded.channels,
  };
  const problems: ImportProblem[] = [];
  if (mask === null) return { ok: true, value: { planned, image: stored, mask: null, problems } };
  const withoutMask = `; its image is imported without a mask`;
  if (isProblem(mask)) return { ok: true, value: { planned, image: stored, mask: null, problems: [{ ...mask, message: mask.message + withoutMask }] } };

  const maskPath = planned.maskPath!;
  const m = mask.decoded;
  if (m.width !== decoded.width || m.height !== decoded.height) {
    problems.push(problem(maskPath, 'error', 'MASK_SIZE_MISMATCH', `the mask is ${m.width}x${m.height} but its image ${planned.path} is ${decoded.width}x${decoded.height}${withoutMask}`));
    return { ok: true, value: { planned, image: stored, mask: null, problems } };
  }
  const binary = binariseMask(m);
  if (binary.areaPx === 0) {
    problems.push(problem(maskPath, 'error', 'MASK_EMPTY', `the mask marks no defect pixels (all values below 128)${withoutMask}`));
    return { ok: true, value: { planned, image: stored, mask: null, problems } };
  }
  if (binary.nonBinaryPx > 0) {
    const share = ((100 * binary.nonBinaryPx) / (m.width * m.height)).toFixed(2);
    problems.push(
      problem(maskPath, 'warning', 'MASK_NOT_BINARY', `${binary.nonBinaryPx} pixels (${share}%) were neither 0 nor 255; thresholded at 128 (imported)`),
    );
  }
  const maskBytes = await encodePng(binary.mask);
  return { ok: true, value: { planned, image: stored, mask: { bytes: maskBytes, mediaType: 'image/png', areaPx: binary.areaPx }, problems } };
}
