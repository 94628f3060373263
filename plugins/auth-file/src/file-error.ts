/**
 * A problem in a password or ACL file, located by file and line so the operator can fix it.
 * `line` is 1-based; 0 means the file as a whole (missing, unreadable).
 */
export class AuthFileError extends Error {
  constructor(
    readonly file: string,
    readonly line: number,
    readonly problem: string,
  ) {
    super(line > 0 ? `${file}:${line}: ${problem}` : `${file}: ${problem}`);
    this.name = 'AuthFileError';
  }
}
