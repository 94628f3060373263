import type { Action } from '@robustmq/sdk';
import { AuthFileError } from './file-error.js';
import { filterProblem } from './topic-filter.js';

/**
 * The ACL file format (see README.md). Comments are whole lines starting with `#` (`#` is also a
 * wildcard). A block header selects who the rules below it apply to:
 * `user <glob>` (authenticated username), `client <glob>` (client id), `anonymous` (no username),
 * `all` (everyone; `pattern` is a synonym). Rules are `allow|deny <actions> <filter>`, actions a
 * comma list of publish, subscribe, consume, admin, read (= subscribe,consume), write (= publish),
 * readwrite (= publish,subscribe,consume) or all. `%u` is the username, `%c` the client id.
 *
 * ```
 * user alice
 * allow readwrite devices/alice/#
 * client sensor-*
 * allow publish sensors/%c/#
 * all
 * deny subscribe secret/#
 * allow subscribe public/%u/#
 * ```
 */

export type Selector =
  | { kind: 'all' }
  | { kind: 'anonymous' }
  | { kind: 'user'; glob: string; re: RegExp }
  | { kind: 'client'; glob: string; re: RegExp };

export interface AclRule {
  /** 1-based line in the file, for logs. */
  line: number;
  selector: Selector;
  effect: 'allow' | 'deny';
  actions: ReadonlySet<Action>;
  /** The filter as written, possibly with `%u` / `%c`. */
  filter: string;
  /** Levels of `filter` when it has no substitution, precomputed for the hot path. */
  levels?: string[];
}

const ACTION_WORDS: Record<string, readonly Action[]> = {
  publish: ['publish'],
  subscribe: ['subscribe'],
  consume: ['consume'],
  admin: ['admin'],
  read: ['subscribe', 'consume'],
  write: ['publish'],
  readwrite: ['publish', 'subscribe', 'consume'],
  all: ['publish', 'subscribe', 'consume', 'admin'],
};

function globToRegExp(glob: string): RegExp {
  const escaped = glob.replace(/[.+?^${}()|[\]\\]/g, '\\$&').replace(/\*/g, '.*');
  return new RegExp(`^${escaped}$`);
}

function parseSelector(words: string[], file: string, line: number): Selector {
  const [keyword, arg, extra] = words;
  if (keyword === 'all' || keyword === 'pattern' || keyword === 'anonymous') {
    if (arg !== undefined) throw new AuthFileError(file, line, `\`${keyword}\` takes no argument`);
    return keyword === 'anonymous' ? { kind: 'anonymous' } : { kind: 'all' };
  }
  if (arg === undefined || extra !== undefined) throw new AuthFileError(file, line, `expected \`${keyword} <name or glob>\``);
  return keyword === 'user'
    ? { kind: 'user', glob: arg, re: globToRegExp(arg) }
    : { kind: 'client', glob: arg, re: globToRegExp(arg) };
}

function parseActions(word: string, file: string, line: number): Set<Action> {
  const actions = new Set<Action>();
  for (const part of word.split(',')) {
    const expanded = ACTION_WORDS[part];
    if (!expanded) {
      throw new AuthFileError(file, line, `unknown action "${part}"; use ${Object.keys(ACTION_WORDS).join(', ')}`);
    }
    for (const a of expanded) actions.add(a);
  }
  return actions;
}

function parseRule(words: string[], selector: Selector | undefined, file: string, line: number): AclRule {
  if (words.length !== 3) throw new AuthFileError(file, line, `expected \`${words[0]} <actions> <topic filter>\``);
  if (!selector)
    throw new AuthFileError(file, line, 'rule outside a block; start a block with `user`, `client`, `anonymous` or `all`');
  const [effect, actionWord, filter] = words;
  const actions = parseActions(actionWord, file, line);
  const bad = /%[^uc]|%$/.exec(filter);
  if (bad) throw new AuthFileError(file, line, `unknown substitution "${bad[0]}" in "${filter}"; use %u or %c`);
  const problem = filterProblem(filter);
  if (problem) throw new AuthFileError(file, line, `${problem} in "${filter}"`);
  const substituted = filter.includes('%');
  return {
    line,
    selector,
    effect: effect as 'allow' | 'deny',
    actions,
    filter,
    levels: substituted ? undefined : filter.split('/'),
  };
}

/** Parses an ACL file; throws {@link AuthFileError} naming the line of the first problem. */
export function parseAclFile(text: string, file: string): AclRule[] {
  const rules: AclRule[] = [];
  let selector: Selector | undefined;
  const lines = text.split(/\r?\n/);
  for (let i = 0; i < lines.length; i++) {
    const content = lines[i].trim();
    // Only whole lines are comments: `#` is also the multi-level wildcard.
    if (content === '' || content.startsWith('#')) continue;
    const words = content.split(/\s+/);
    const keyword = words[0];
    if (keyword === 'user' || keyword === 'client' || keyword === 'all' || keyword === 'pattern' || keyword === 'anonymous') {
      selector = parseSelector(words, file, i + 1);
    } else if (keyword === 'allow' || keyword === 'deny') {
      rules.push(parseRule(words, selector, file, i + 1));
    } else {
      throw new AuthFileError(file, i + 1, `unknown keyword "${keyword}"; expected user, client, anonymous, all, allow or deny`);
    }
  }
  return rules;
}
