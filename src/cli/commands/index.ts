// The command table. A new command is one module exporting a CommandSpec, added here.
import type { CommandSpec } from '../command';
import { doctorCommand } from './doctor';
import { importCommand } from './import';
import { infoCommand } from './info';
import { initCommand } from './init';
import { synthCommand } from './synth';

export const COMMANDS: readonly CommandSpec[] = [initCommand, importCommand, infoCommand, doctorCommand, synthCommand];
