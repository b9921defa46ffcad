import type { ShapeTable } from './types';

export const linalgShapes: ShapeTable = {};
