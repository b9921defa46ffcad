// Writes a procedural MVTec-layout corpus, or a contact sheet of every family.
//   node --import tsx scripts/make-corpus.ts <outDir> [--per-family N] [--seed S] [--families a,b]
//   node --import tsx scripts/make-corpus.ts <sheet.png> --sheet [--seed S] [--families a,b]
// --per-family N: N train/good, N/2 test/good and N/4 (at least 1) images per defect type.

import { isUserError } from '../src/shared/errors';
import { buildContactSheet, writeMvtecCorpus } from '../src/engine/corpus';
import { writeRgbPng } from '../src/engine/corpus/png';

function usage(message: string): never {
  console.error(`${message}\nusage: make-corpus.ts <outDir> [--per-family N] [--seed S] [--families a,b]\n       make-corpus.ts <sheet.png> --sheet [--seed S] [--families a,b]`);
  process.exit(1);
}

function parseArgs(argv: string[]): { out: string; perFamily: number; seed: number; sheet: boolean; families?: string[] } {
  let out: string | undefined;
  let perFamily = 20;
  let seed = 1;
  let sheet = false;
  let families: string[] | undefined;
  for (let i = 0; i < argv.length; i++) {
    const a = argv[i]!;
    const value = (): string => argv[++i] ?? usage(`${a} needs a value`);
    if (a === '--per-family') perFamily = Number(value());
    else if (a === '--seed') seed = Number(value());
    else if (a === '--families') families = value().split(',').filter(Boolean);
    else if (a === '--sheet') sheet = true;
    else if (a.startsWith('--')) usage(`unknown option ${a}`);
    else if (out === undefined) out = a;
    else usage(`unexpected argument ${a}`);
  }
  if (out === undefined) usage('missing output path');
  if (!Number.isInteger(perFamily) || perFamily < 1) usage(`--per-family must be a whole number >= 1`);
  if (!Number.isInteger(seed)) usage(`--seed must be an integer`);
  return { out, perFamily, seed, sheet, families };
}

async function main(): Promise<void> {
  const args = parseArgs(process.argv.slice(2));
  const t0 = performance.now();
  if (args.sheet) {
    await writeRgbPng(args.out, buildContactSheet({ seed: args.seed, families: args.families }));
    console.log(`sheet: ${args.out} (${((performance.now() - t0) / 1000).toFixed(1)} s)`);
    return;
  }
  let last = 0;
  const labels = await writeMvtecCorpus(args.out, {
    seed: args.seed,
    families: args.families,
    trainGood: args.perFamily,
    testGood: Math.max(1, Math.floor(args.perFamily / 2)),
    defectsPerType: Math.max(1, Math.floor(args.perFamily / 4)),
    onProgress: (done, total) => {
      if (done === total || performance.now() - last > 2000) {
        last = performance.now();
        process.stdout.write(`\r${done}/${total} images`);
      }
    },
  });
  const s = (performance.now() - t0) / 1000;
  console.log(`\n${labels.files.length} images in ${s.toFixed(1)} s (${(labels.files.length / s).toFixed(1)} images/s, PNG writing included) -> ${args.out}`);
}

main().catch((e: unknown) => {
  console.error(isUserError(e) ? `error: ${e.message}` : e);
  process.exit(isUserError(e) ? 1 : 2);
});
