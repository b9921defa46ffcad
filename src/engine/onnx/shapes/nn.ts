import type { ShapeTable } from './types';

export const nnShapes: ShapeTable = {};
