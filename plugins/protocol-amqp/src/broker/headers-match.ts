import type { FieldTable, FieldValue } from '../codec/field-table.js';

/** True when `x-match` (all / any / all-with-x / any-with-x) of the binding args holds for the message headers. */
export function headersMatch(bindingArgs: FieldTable, headers: FieldTable): boolean {
  const mode = typeof bindingArgs['x-match'] === 'string' ? (bindingArgs['x-match'] as string) : 'all';
  const withX = mode.endsWith('-with-x');
  const any = mode.startsWith('any');
  for (const [k, expected] of Object.entries(bindingArgs)) {
    if (k === 'x-match' || (!withX && k.startsWith('x-'))) continue;
    const present = Object.hasOwn(headers, k);
    const ok = present && (expected === null || sameValue(expected, headers[k]));
    if (any && ok) return true;
    if (!any && !ok) return false;
  }
  return !any;
}

/** True for x-match values the broker knows. */
export function validXMatch(v: FieldValue | undefined): boolean {
  return v === undefined || v === 'all' || v === 'any' || v === 'all-with-x' || v === 'any-with-x';
}

function sameValue(a: FieldValue, b: FieldValue): boolean {
  if (Buffer.isBuffer(a) && Buffer.isBuffer(b)) return a.equals(b);
  if (a instanceof Date && b instanceof Date) return a.getTime() === b.getTime();
  if (typeof a === 'object' || typeof b === 'object') return JSON.stringify(a) === JSON.stringify(b);
  return a === b;
}
