// The schema every invoke channel's request is validated against before its handler runs.
// Typed against the IPC contract: a schema that admits a different shape fails to compile.
import {
  AUGMENT_FORMATS,
  FOLDER_PURPOSES,
  FOREGROUNDS,
  IMAGE_LABELS,
  IMAGE_ORIGINS,
  IMAGE_SORTS,
  IMAGE_SPLITS,
  IMPORT_LAYOUTS,
  MASK_SOURCES,
  SUBMITTABLE_JOB_KINDS,
  type InvokeChannel,
  type IpcRequest,
} from '../../shared/ipc';
import { absolutePath, arrayOf, base64, bool, matching, nullable, num, obj, oneOf, optional, rowId, SchemaError, str, type Schema } from './schema';

// Project names end up in window titles and the recent list; keep them one short line.
const PROJECT_NAME_MAX = 200;
// Defect type and category names are labels in lists and folder names on export.
const LABEL_MAX = 120;
// One grid page; the grid asks for a few hundred at most.
const PAGE_MAX = 2000;
// A mask PNG of a 8k x 8k image compresses to far less; 48 MiB of base64 is a generous ceiling.
const MASK_BASE64_MAX = 48 * 1024 * 1024;
const THUMBNAILS_PER_CALL = 500;
// Learning runs for minutes to hours; a million steps is past any sensible run.
const LEARN_STEPS_MAX = 1_000_000;
const PAIRS_PER_TYPE_MAX = 1_000_000;
// "Generate N with this mask" is a quick look at one mask on other images, not a dataset run.
const REUSE_PAIRS_MAX = 1000;

const maskRequest = obj({ imageId: rowId(), pngBase64: base64(MASK_BASE64_MAX) });
const label = () => str({ minLength: 1, maxLength: LABEL_MAX });
// augmentation's model adaptation: on, off, or 'auto' (on for DefectForge packages)
const adaptChoice = (): Schema<boolean | 'auto'> => ({
  check(value, at) {
    if (typeof value === 'boolean' || value === 'auto') return value;
    throw new SchemaError(at, `expected true, false or 'auto', got ${JSON.stringify(value) ?? String(value)}`);
  },
});

export const requestSchemas: { [C in InvokeChannel]: Schema<IpcRequest<C>> } = {
  'app:info': obj({}),
  'project:create': obj({ dir: absolutePath(), name: optional(str({ minLength: 1, maxLength: PROJECT_NAME_MAX })) }),
  'project:open': obj({ dir: absolutePath() }),
  'project:info': obj({}),
  'project:recent': obj({}),
  'dataset:import': obj({ folder: absolutePath(), layout: optional(oneOf(IMPORT_LAYOUTS)) }),
  'dialog:pickFolder': obj({ purpose: oneOf(FOLDER_PURPOSES) }),
  'images:list': obj({
    category: optional(str({ maxLength: LABEL_MAX })),
    split: optional(oneOf(IMAGE_SPLITS)),
    label: optional(oneOf(IMAGE_LABELS)),
    defectTypeId: optional(rowId()),
    origin: optional(oneOf(IMAGE_ORIGINS)),
    hasMask: optional(bool()),
    sort: optional(oneOf(IMAGE_SORTS)),
    descending: optional(bool()),
    offset: num({ integer: true, min: 0 }),
    limit: num({ integer: true, min: 1, max: PAGE_MAX }),
  }),
  'images:get': obj({ id: rowId() }),
  'images:thumbnails': obj({ ids: arrayOf(rowId(), { maxLength: THUMBNAILS_PER_CALL }) }),
  'masks:save': maskRequest,
  'masks:draftGet': obj({ imageId: rowId() }),
  'masks:draftPut': maskRequest,
  'masks:draftDrop': obj({ imageId: rowId() }),
  'types:list': obj({}),
  'types:create': obj({ category: label(), name: label() }),
  'types:rename': obj({ id: rowId(), name: label() }),
  'types:merge': obj({ sourceId: rowId(), targetId: rowId() }),
  'types:setTrainCount': obj({ id: rowId(), trainCount: nullable(num({ integer: true, min: 0, max: 1_000_000 })) }),
  'types:setSettings': obj({
    id: rowId(),
    aar: optional(bool()),
    color: optional(matching(/^#[0-9a-f]{6}$/, 'a colour as #rrggbb (lowercase hex)')),
    maskSource: optional(oneOf(MASK_SOURCES)),
    foreground: optional(oneOf(FOREGROUNDS)),
  }),
  'jobs:list': obj({}),
  'jobs:submit': obj({
    kind: oneOf(SUBMITTABLE_JOB_KINDS),
    params: obj({ steps: num({ integer: true, min: 1, max: 100_000 }), stepMs: num({ integer: true, min: 0, max: 3_600_000 }) }),
  }),
  'jobs:cancel': obj({ id: rowId() }),
  'model:get': obj({}),
  'model:set': obj({ dir: absolutePath() }),
  'learn:start': obj({
    typeId: rowId(),
    steps: num({ integer: true, min: 1, max: LEARN_STEPS_MAX }),
    previewEvery: optional(num({ integer: true, min: 0, max: LEARN_STEPS_MAX })),
    resume: optional(bool()),
  }),
  'augment:start': obj({
    typeIds: arrayOf(rowId(), { maxLength: 1000 }),
    perType: num({ integer: true, min: 1, max: PAIRS_PER_TYPE_MAX }),
    formats: arrayOf(oneOf(AUGMENT_FORMATS), { maxLength: AUGMENT_FORMATS.length }),
    out: absolutePath(),
    steps: optional(num({ integer: true, min: 1, max: 1000 })),
    seed: optional(num({ integer: true, min: 0, max: 2 ** 31 - 1 })),
    adapt: optional(adaptChoice()),
    restoreDetail: optional(bool()),
  }),
  'augment:cancel': obj({ runId: num({ integer: true, min: 1 }) }),
  'samples:list': obj({ defectTypeId: optional(rowId()), offset: num({ integer: true, min: 0 }), limit: num({ integer: true, min: 1, max: PAGE_MAX }) }),
  'samples:get': obj({ id: rowId() }),
  'samples:regenerate': obj({ id: rowId() }),
  'samples:reuseMask': obj({
    id: rowId(),
    generate: optional(num({ integer: true, min: 1, max: REUSE_PAIRS_MAX })),
    seed: optional(num({ integer: true, min: 0, max: 2 ** 31 - 1 })),
  }),
};
