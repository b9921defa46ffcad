import type { ShapeTable } from './types';

export const tensorShapes: ShapeTable = {};
