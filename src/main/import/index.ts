export { importDataset, detectLayout, planImport, type ImportOptions } from './import';
export type { ImportPlan, PlannedImage } from './plan';
