// Every schema migration, in order. To add one: create NNNN-name.ts exporting version, name and
// up(db), append it here, and add its test in test/main/store/migrations/.
import type { Migration } from './types';
import * as m0001 from './0001-initial';

export type { Migration } from './types';

export const migrations: readonly Migration[] = [m0001];
