// The `defectforge` command line: finds the command in the table, parses its arguments, runs it
// and turns the outcome into an exit status: 0 success, 1 a user error (UserError or bad
// arguments, one line on stderr), 2 an internal error.
import { isUserError, UserError } from '../shared/errors';
import { appVersion } from '../main/store/app-version';
import { commandHelp, parseCommandArgs, PROGRAM, topLevelHelp } from './args';
import type { CliIO, CommandSpec } from './command';
import { COMMANDS } from './commands';

export const EXIT_OK = 0;
export const EXIT_USER_ERROR = 1;
export const EXIT_INTERNAL_ERROR = 2;

export async function runCli(argv: readonly string[], io: CliIO, commands: readonly CommandSpec[] = COMMANDS): Promise<number> {
  const [name, ...rest] = argv;
  let command: CommandSpec | undefined;
  try {
    if (name === undefined) throw new UserError('BAD_ARGS', `missing command; try ${PROGRAM} --help`);
    if (name === '--help' || name === '-h' || name === 'help') {
      io.stdout(topLevelHelp(commands, appVersion()));
      return EXIT_OK;
    }
    if (name === '--version' || name === '-v') {
      io.stdout(`${appVersion()}\n`);
      return EXIT_OK;
    }
    command = commands.find((c) => c.name === name);
    if (!command) {
      throw new UserError('UNKNOWN_COMMAND', `unknown command ${JSON.stringify(name)}; commands: ${commands.map((c) => c.name).join(', ')}`);
    }
    const parsed = parseCommandArgs(command, [...rest]);
    if (parsed.help) {
      io.stdout(commandHelp(command));
      return EXIT_OK;
    }
    await command.run(parsed.args, io);
    return EXIT_OK;
  } catch (e) {
    const where = command ? `${PROGRAM} ${command.name}` : PROGRAM;
    if (isUserError(e)) {
      io.stderr(`${where}: ${oneLine(e.message)}\n`);
      return EXIT_USER_ERROR;
    }
    const message = e instanceof Error ? e.message : String(e);
    io.stderr(`${where}: internal error: ${oneLine(message)}\n`);
    if (process.env.DEFECTFORGE_DEBUG && e instanceof Error && e.stack) io.stderr(`${e.stack}\n`);
    return EXIT_INTERNAL_ERROR;
  }
}

function oneLine(text: string): string {
  return text.replace(/\s*\r?\n\s*/g, ' ').trim();
}

/** The CliIO of the running process; Ctrl-C aborts the signal once, a second Ctrl-C exits. */
export function processIO(): CliIO {
  const controller = new AbortController();
  process.once('SIGINT', () => {
    controller.abort();
    process.once('SIGINT', () => process.exit(130));
  });
  return {
    stdout: (text) => void process.stdout.write(text),
    stderr: (text) => void process.stderr.write(text),
    cwd: process.cwd(),
    stderrIsTTY: process.stderr.isTTY === true,
    signal: controller.signal,
  };
}
