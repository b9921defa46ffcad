// The schema every invoke channel's request is validated against before its handler runs.
// Typed against the IPC contract: a schema that admits a different shape fails to compile.
import { FOLDER_PURPOSES, IMPORT_LAYOUTS, type InvokeChannel, type IpcRequest } from '../../shared/ipc';
import { absolutePath, obj, oneOf, optional, str, type Schema } from './schema';

// Project names end up in window titles and the recent list; keep them one short line.
const PROJECT_NAME_MAX = 200;

export const requestSchemas: { [C in InvokeChannel]: Schema<IpcRequest<C>> } = {
  'app:info': obj({}),
  'project:create': obj({ dir: absolutePath(), name: optional(str({ minLength: 1, maxLength: PROJECT_NAME_MAX })) }),
  'project:open': obj({ dir: absolutePath() }),
  'project:info': obj({}),
  'project:recent': obj({}),
  'dataset:import': obj({ folder: absolutePath(), layout: optional(oneOf(IMPORT_LAYOUTS)) }),
  'dialog:pickFolder': obj({ purpose: oneOf(FOLDER_PURPOSES) }),
};
