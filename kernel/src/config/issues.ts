import type { z } from 'zod';
import { getPath } from './merge.js';

/** What a formatter needs to turn schema issues into one-line, fixable messages. */
export interface IssueContext {
  /** Printed first: `config` or `plugin protocol-mqtt`. */
  subject: string;
  /** The value that was validated. */
  input: unknown;
  /** Path as printed after the subject (e.g. prefixes `options`). */
  fieldName(path: string[]): string;
  /** Path as the user writes it in the config file (for the fix). */
  configPath(path: string[]): string;
  /** Where the value came from, e.g. `ROBUSTMQ_ADMIN_PORT` or the config file path. */
  sourceOf(path: string[]): string | undefined;
  /** The environment variable that can set this field, if any. */
  envOf(path: string[]): string | undefined;
  /** A description of valid values, if known better than the schema's message. */
  expectedOf(path: string[]): string | undefined;
  /** Keys accepted by the object at `path` (for unknown-key suggestions). */
  knownKeysOf(path: string[]): string[] | undefined;
}

/** One line per problem: `<subject>: <field>: <problem>, got <value> (from <source>); fix: <fix>`. */
export function formatIssues(issues: readonly z.core.$ZodIssue[], ctx: IssueContext): string[] {
  const lines: string[] = [];
  for (const issue of issues) {
    const path = issue.path.map(String);
    if (issue.code === 'unrecognized_keys') {
      const known = ctx.knownKeysOf(path) ?? [];
      for (const key of issue.keys) {
        const full = [...path, key];
        const near = closest(key, known);
        const hint = near ? ` (did you mean ${near}?)` : '';
        const knownText = known.length ? `; known keys here: ${known.join(', ')}` : '';
        lines.push(
          `${ctx.subject}: ${ctx.fieldName(full)}: unknown key${from(ctx, full)}; fix: remove it or correct the spelling${hint}${knownText}`,
        );
      }
      continue;
    }
    const expected = ctx.expectedOf(path);
    const problem = expected ? `expected ${expected}` : lowerFirst(issue.message);
    const value = getPath(ctx.input, path);
    const got = value === undefined ? 'nothing' : show(value);
    const env = ctx.envOf(path);
    const where = `${ctx.configPath(path)}${env ? ` (or ${env})` : ''}`;
    lines.push(
      `${ctx.subject}: ${ctx.fieldName(path)}: ${problem}, got ${got}${from(ctx, path)}; fix: set ${where} to ${expected ?? 'a valid value'}`,
    );
  }
  return lines;
}

/** Finds the source recorded for a path or its nearest recorded ancestor. */
export function lookupSource(sources: ReadonlyMap<string, string>, path: readonly string[]): string | undefined {
  for (let n = path.length; n > 0; n--) {
    const s = sources.get(path.slice(0, n).join('.'));
    if (s) return s;
  }
  // A whole subtree may come from one place: take any descendant's source.
  const prefix = path.length ? `${path.join('.')}.` : '';
  for (const [k, v] of sources) if (k.startsWith(prefix)) return v;
  return undefined;
}

function from(ctx: IssueContext, path: string[]): string {
  const source = ctx.sourceOf(path);
  return source ? ` (from ${source})` : '';
}

function lowerFirst(s: string): string {
  return s.charAt(0).toLowerCase() + s.slice(1);
}

/** A short JSON rendering of a bad value. */
export function show(value: unknown): string {
  let text: string;
  try {
    text = JSON.stringify(value) ?? String(value);
  } catch {
    text = String(value);
  }
  return text.length > 60 ? `${text.slice(0, 57)}...` : text;
}

/** The known key nearest to a typo (edit distance ≤ 2, or a case-insensitive match). */
export function closest(key: string, known: readonly string[]): string | undefined {
  let best: string | undefined;
  let bestDist = 3;
  for (const k of known) {
    const d = k.toLowerCase() === key.toLowerCase() ? 0 : distance(key, k);
    if (d < bestDist) {
      best = k;
      bestDist = d;
    }
  }
  return best;
}

function distance(a: string, b: string): number {
  const row = Array.from({ length: b.length + 1 }, (_, i) => i);
  for (let i = 1; i <= a.length; i++) {
    let prev = row[0];
    row[0] = i;
    for (let j = 1; j <= b.length; j++) {
      const tmp = row[j];
      row[j] = Math.min(row[j] + 1, row[j - 1] + 1, prev + (a[i - 1] === b[j - 1] ? 0 : 1));
      prev = tmp;
    }
  }
  return row[b.length];
}
