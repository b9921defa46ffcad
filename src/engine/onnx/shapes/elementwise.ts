import type { ShapeTable } from './types';

export const elementwiseShapes: ShapeTable = {};
