// Errors the user can act on (bad input, missing file, wrong version) versus internal faults.
// The CLI exits 1 on a UserError and 2 on anything else; IPC carries `code` to the renderer.

export class UserError extends Error {
  readonly code: string;
  constructor(code: string, message: string) {
    super(message);
    this.name = 'UserError';
    this.code = code;
  }
}

export function isUserError(e: unknown): e is UserError {
  return e instanceof Error && (e as { name?: string }).name === 'UserError' && typeof (e as { code?: unknown }).code === 'string';
}
