// Plain, JSON-serialisable shapes that cross from main to the renderer (project store and import).

export type JobState = 'queued' | 'running' | 'succeeded' | 'failed' | 'cancelled';
export const JOB_STATES: readonly JobState[] = ['queued', 'running', 'succeeded', 'failed', 'cancelled'];

export interface DefectTypeInfo {
  id: number;
  category: string;
  name: string;
  /** The user's choice; null = the default, the first third (ceil(n/3)) of the type's real images. */
  trainCount: number | null;
  /** Real images of this type. */
  images: number;
  /** Masks attached to images of this type. */
  masks: number;
  /** Real images in the 'train' defect split (used to learn the defect) and in 'holdout'. */
  train: number;
  holdout: number;
}

export interface CategoryInfo {
  name: string;
  trainGood: number;
  testGood: number;
  defectTypes: DefectTypeInfo[];
}

export interface ProjectInfo {
  name: string;
  schemaVersion: number;
  appVersion: string;
  createdAt: string;
  categories: CategoryInfo[];
  blobs: { count: number; bytes: number };
  jobs: Record<JobState, number>;
}

export type ImportLayout = 'mvtec' | 'folder';

export interface ImportProblem {
  /** The file (or folder) the problem is about, as found on disk. */
  path: string;
  /** 'error': the file was rejected. 'warning': imported, but look at it. */
  severity: 'error' | 'warning';
  code: ImportProblemCode;
  message: string;
}

export type ImportProblemCode =
  | 'EMPTY_FILE'
  | 'UNREADABLE_IMAGE'
  | 'UNSUPPORTED_IMAGE'
  | 'MASK_WITHOUT_IMAGE'
  | 'MASK_SIZE_MISMATCH'
  | 'MASK_EMPTY'
  | 'MASK_NOT_BINARY'
  | 'MASK_DUPLICATE'
  | 'IMAGE_WITHOUT_MASK';

export interface ImportReport {
  folder: string;
  layout: ImportLayout;
  categories: string[];
  /** Image files newly added, and those already in the project (same content, category, split and type). */
  images: { imported: number; alreadyPresent: number };
  masks: { imported: number; alreadyPresent: number };
  /** Files that could not be imported (each has an 'error' problem). */
  rejected: number;
  /** Files left alone because they are not images by extension (README, CSV...). */
  ignoredFiles: number;
  problems: ImportProblem[];
  seconds: number;
}
