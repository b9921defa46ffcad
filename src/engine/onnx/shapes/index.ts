// All per-op shape functions, merged into one table used by the shape-inference pass.
import type { ShapeTable } from './types';
import { elementwiseShapes } from './elementwise';
import { tensorShapes } from './tensor';
import { reductionShapes } from './reduction';
import { linalgShapes } from './linalg';
import { nnShapes } from './nn';

export const shapeTable: ShapeTable = {
  ...elementwiseShapes,
  ...tensorShapes,
  ...reductionShapes,
  ...linalgShapes,
  ...nnShapes,
};
