// Argument parsing on node:util parseArgs, plus the checks parseArgs does not do (positional
// count, option choices) and the help text, all driven by a command's CommandSpec.
import { parseArgs } from 'node:util';
import { UserError } from '../shared/errors';
import type { CommandSpec, ParsedArgs } from './command';

export const PROGRAM = 'defectforge';

/** The result of parsing: either run the command or show its help. */
export type ParseOutcome = { help: true } | { help: false; args: ParsedArgs };

export function parseCommandArgs(spec: CommandSpec, argv: string[]): ParseOutcome {
  const options: Record<string, { type: 'string' | 'boolean'; short?: string }> = { help: { type: 'boolean', short: 'h' } };
  for (const [name, o] of Object.entries(spec.options)) options[name] = { type: o.type, ...(o.short ? { short: o.short } : {}) };
  let parsed;
  try {
    parsed = parseArgs({ args: argv, options, allowPositionals: true, strict: true });
  } catch (e) {
    // parseArgs messages are full sentences with hints about '--'; keep the first sentence
    throw new UserError('BAD_ARGS', `${firstSentence((e as Error).message)} (see ${PROGRAM} ${spec.name} --help)`);
  }
  if (parsed.values.help) return { help: true };
  const positionals = parsed.positionals;
  const expected = spec.positionals.map((p) => `<${p.name}>`).join(' ');
  if (positionals.length < spec.positionals.length) {
    const missing = spec.positionals[positionals.length]!;
    throw new UserError('BAD_ARGS', `missing <${missing.name}>; usage: ${PROGRAM} ${spec.name} ${expected} (see --help)`);
  }
  if (positionals.length > spec.positionals.length) {
    throw new UserError('BAD_ARGS', `unexpected argument ${JSON.stringify(positionals[spec.positionals.length])}; usage: ${PROGRAM} ${spec.name} ${expected}`.trimEnd());
  }
  const values = parsed.values as Record<string, string | boolean | undefined>;
  for (const [name, o] of Object.entries(spec.options)) {
    const v = values[name];
    if (o.choices && typeof v === 'string' && !o.choices.includes(v)) {
      throw new UserError('BAD_ARGS', `--${name} must be one of ${o.choices.join(', ')} (got ${JSON.stringify(v)})`);
    }
  }
  delete values.help;
  return { help: false, args: { positionals, options: values } };
}

function firstSentence(message: string): string {
  const line = message.split('\n')[0]!;
  const end = line.search(/\.\s/);
  return (end >= 0 ? line.slice(0, end) : line).replace(/\.$/, '');
}

export function commandHelp(spec: CommandSpec): string {
  const usage = [PROGRAM, spec.name, ...spec.positionals.map((p) => `<${p.name}>`), Object.keys(spec.options).length ? '[options]' : ''].filter(Boolean).join(' ');
  const lines = [`${spec.summary}`, '', `Usage: ${usage}`];
  if (spec.positionals.length) {
    lines.push('', 'Arguments:');
    const width = Math.max(...spec.positionals.map((p) => p.name.length + 2));
    for (const p of spec.positionals) lines.push(`  ${`<${p.name}>`.padEnd(width)}  ${p.description}`);
  }
  const optionRows: [string, string][] = Object.entries(spec.options).map(([name, o]) => {
    const flag = `${o.short ? `-${o.short}, ` : ''}--${name}${o.type === 'string' ? ` <${o.valueName ?? 'value'}>` : ''}`;
    return [flag, o.description + (o.choices ? ` (${o.choices.join(' | ')})` : '')];
  });
  optionRows.push(['-h, --help', 'show this help']);
  const width = Math.max(...optionRows.map(([f]) => f.length));
  lines.push('', 'Options:', ...optionRows.map(([f, d]) => `  ${f.padEnd(width)}  ${d}`));
  if (spec.details) lines.push('', spec.details);
  return lines.join('\n') + '\n';
}

export function topLevelHelp(commands: readonly CommandSpec[], version: string): string {
  const width = Math.max(...commands.map((c) => c.name.length));
  return [
    `DefectForge ${version}: synthetic defect images with pixel masks, from a few real ones.`,
    '',
    `Usage: ${PROGRAM} <command> [arguments] [options]`,
    '',
    'Commands:',
    ...commands.map((c) => `  ${c.name.padEnd(width)}  ${c.summary}`),
    '',
    'Options:',
    '  -h, --help     show this help (or a command\'s: defectforge <command> --help)',
    '  -v, --version  print the version',
    '',
    'Exit status: 0 success, 1 bad input or arguments, 2 internal error.',
    '',
  ].join('\n');
}
