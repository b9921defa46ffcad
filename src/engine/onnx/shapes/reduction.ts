import type { ShapeTable } from './types';

export const reductionShapes: ShapeTable = {};
