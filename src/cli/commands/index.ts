// The command table. A new command is one module exporting a CommandSpec, added here.
import type { CommandSpec } from '../command';
import { doctorCommand } from './doctor';
import { evalCommand } from './eval';
import { importCommand } from './import';
import { infoCommand } from './info';
import { initCommand } from './init';
import { synthCommand } from './synth';
import { augmentCommand } from './augment';
import { exportCommand } from './export';
import { regenerateCommand } from './regenerate';
import { lineageCommand } from './lineage';
import { demoCommand } from './demo';
import { masksCommand } from './masks';
import { trainCommand } from './train';
import { adaptCommand } from './adapt';

export const COMMANDS: readonly CommandSpec[] = [
  initCommand,
  importCommand,
  infoCommand,
  doctorCommand,
  evalCommand,
  synthCommand,
  augmentCommand,
  exportCommand,
  regenerateCommand,
  lineageCommand,
  demoCommand,
  trainCommand,
  masksCommand,
  adaptCommand,
];
