// What a CLI command is. Each command is one module exporting a CommandSpec; main.ts keeps the
// table. The parser, the help text and the exit codes are shared, so a new command (train,
// synthesize, eval, ...) only declares its arguments and its run function.

export interface CliIO {
  /** results: what scripts read (text or JSON) */
  stdout(text: string): void;
  /** progress, warnings and error messages */
  stderr(text: string): void;
  /** relative paths in arguments are resolved against this */
  cwd: string;
  /** true when stderr is a terminal, so progress can redraw one line */
  stderrIsTTY: boolean;
  /** aborted on Ctrl-C; long commands pass it down */
  signal: AbortSignal;
}

export interface PositionalSpec {
  name: string;
  description: string;
}

export interface OptionSpec {
  type: 'string' | 'boolean';
  description: string;
  short?: string;
  /** shown in help: --layout <layout> */
  valueName?: string;
  /** allowed values of a string option */
  choices?: readonly string[];
}

export interface ParsedArgs {
  positionals: string[];
  options: Record<string, string | boolean | undefined>;
}

export interface CommandSpec {
  name: string;
  summary: string;
  /** required positionals, in order */
  positionals: readonly PositionalSpec[];
  options: Readonly<Record<string, OptionSpec>>;
  /** extra help text after the options */
  details?: string;
  run(args: ParsedArgs, io: CliIO): Promise<void>;
}
