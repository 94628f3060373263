/**
 * A refusal to start. Its message is one line per problem, each naming what is wrong and how to
 * fix it, so the CLI prints it as-is (no stack trace) and exits 1.
 */
export class StartupError extends Error {
  /** The problems, one line each. */
  readonly lines: readonly string[];

  constructor(lines: string | readonly string[]) {
    const list = typeof lines === 'string' ? [lines] : [...lines];
    super(list.join('\n'));
    this.name = 'StartupError';
    this.lines = list;
  }
}

/** Formats the one-line refusal for a plugin: `plugin <name>: <field>: <problem>; fix: <fix>`. */
export function pluginRefusal(plugin: string, field: string, problem: string, fix: string): string {
  return `plugin ${plugin}: ${field}: ${problem}; fix: ${fix}`;
}

/** True for a StartupError, also one created by another copy of this module. */
export function isStartupError(err: unknown): err is StartupError {
  return (
    err instanceof StartupError ||
    (err instanceof Error && err.name === 'StartupError' && Array.isArray((err as StartupError).lines))
  );
}
