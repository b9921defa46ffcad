export type { RawImage, ImageFormat } from './types';
export { checkRawImage } from './types';
export { decodeImage, readImage, type DecodedImage } from './decode';
export { encodePng } from './encode';
export { binariseMask, MASK_THRESHOLD, type BinaryMask } from './mask';
export { decodeBmp } from './bmp';
export { sniffFormat, mediaTypeOf, IMAGE_EXTENSIONS } from './format';
export { pngStructureProblem } from './png-structure';
