// Runs the real `bin/defectforge.mjs` as a child process, the way a user or a script does.
import { execFile } from 'node:child_process';
import { fileURLToPath } from 'node:url';

export const BIN = fileURLToPath(new URL('../../bin/defectforge.mjs', import.meta.url));

export interface BinResult {
  code: number;
  stdout: string;
  stderr: string;
}

export function runBin(args: string[], cwd: string, env: NodeJS.ProcessEnv = process.env): Promise<BinResult> {
  return new Promise((resolve, reject) => {
    execFile(process.execPath, [BIN, ...args], { cwd, env, timeout: 60_000, windowsHide: true }, (error, stdout, stderr) => {
      if (error && typeof error.code !== 'number') return reject(error);
      resolve({ code: error ? (error.code as number) : 0, stdout, stderr });
    });
  });
}

/** stderr of a failed command must be exactly one line */
export function lines(text: string): string[] {
  return text.split(/\r?\n/).filter((l) => l !== '');
}
