import type { ShareGroup } from './share-group.js';
import type { Subscription } from './subscriber-state.js';
import { SEPARATOR } from './topic.js';

const DOLLAR = 36; // '$'

/**
 * One level of the subscription trie. Literal levels live in `only` while there is one (most
 * device-style filters fan out once, then run in a line) and in `children` from the second on; the
 * `+` and `#` levels have their own slots so matching never looks them up by string. A node holds
 * the non-shared subscriptions and the share groups whose filter ends here.
 */
export class TrieNode {
  /** The single literal child, when there is exactly one (saves a Map and a cache miss per level). */
  only: TrieNode | undefined = undefined;
  /** Literal children by level, when there are two or more. */
  children: Map<string, TrieNode> | undefined = undefined;
  plus: TrieNode | undefined = undefined;
  hash: TrieNode | undefined = undefined;
  /** Non-shared subscriptions ending here; each knows its slot for O(1) removal. */
  subs: Subscription[] | undefined = undefined;
  /** Share groups ending here, by group name. */
  groups: Map<string, ShareGroup> | undefined = undefined;

  constructor(
    readonly parent: TrieNode | undefined,
    readonly key: string,
  ) {}

  /** True when a subscription or share group ends at this node. */
  get hasValues(): boolean {
    return this.subs !== undefined || this.groups !== undefined;
  }

  get isEmpty(): boolean {
    return (
      this.subs === undefined &&
      this.groups === undefined &&
      this.plus === undefined &&
      this.hash === undefined &&
      this.only === undefined &&
      this.children === undefined
    );
  }

  /** The literal child for `level`, if any. */
  child(level: string): TrieNode | undefined {
    const only = this.only;
    if (only !== undefined) return only.key === level ? only : undefined;
    return this.children?.get(level);
  }

  /** The literal child for `level`, created when missing. */
  childOrCreate(level: string): TrieNode {
    const found = this.child(level);
    if (found !== undefined) return found;
    const node = new TrieNode(this, level);
    if (this.only === undefined && this.children === undefined) {
      this.only = node;
    } else {
      if (this.children === undefined) {
        const only = this.only as TrieNode;
        this.children = new Map([[only.key, only]]);
        this.only = undefined;
      }
      this.children.set(level, node);
    }
    return node;
  }

  /** Unlinks a literal child; a Map left with one child goes back to the `only` slot. */
  removeChild(child: TrieNode): void {
    if (this.only === child) {
      this.only = undefined;
      return;
    }
    const children = this.children;
    if (children === undefined || children.get(child.key) !== child) return;
    children.delete(child.key);
    if (children.size <= 1) {
      this.only = children.size === 1 ? (children.values().next().value as TrieNode) : undefined;
      this.children = undefined;
    }
  }
}

/** The subscription index: filters in, matching nodes out. */
export class SubscriptionTrie {
  readonly root = new TrieNode(undefined, '');

  /** The node for a (plain, validated) filter, created on demand. */
  nodeFor(filter: string): TrieNode {
    let node = this.root;
    for (const level of filter.split(SEPARATOR)) {
      if (level === '+') {
        node.plus ??= new TrieNode(node, level);
        node = node.plus;
      } else if (level === '#') {
        node.hash ??= new TrieNode(node, level);
        node = node.hash;
      } else {
        node = node.childOrCreate(level);
      }
    }
    return node;
  }

  /** Removes `node` and its ancestors while they hold nothing. */
  prune(node: TrieNode): void {
    let current: TrieNode | undefined = node;
    while (current?.parent !== undefined && current.isEmpty) {
      const parent: TrieNode = current.parent;
      if (current.key === '+' && parent.plus === current) parent.plus = undefined;
      else if (current.key === '#' && parent.hash === current) parent.hash = undefined;
      else parent.removeChild(current);
      current = parent;
    }
  }

  /**
   * Appends to `out` every node holding subscriptions whose filter matches `topic`. Each node is
   * reported at most once. Filters starting with a wildcard do not match `$` topics.
   */
  match(topic: string, out: TrieNode[]): void {
    const count = splitLevels(topic, this.levels);
    collect(this.root, this.levels, count, 0, topic.charCodeAt(0) === DOLLAR, out);
  }

  /** True when any subscription matches `topic`. */
  matchesAny(topic: string): boolean {
    const count = splitLevels(topic, this.levels);
    return any(this.root, this.levels, count, 0, topic.charCodeAt(0) === DOLLAR);
  }

  /**
   * Scratch array the topic is split into. Reused because matching never calls out to user code,
   * so no re-entrant match can overwrite it mid-walk; measured ~3x faster than String#split here.
   */
  private readonly levels: string[] = [];
}

/** Splits `topic` at '/' into `out` (reused, may hold stale entries past the returned count). */
function splitLevels(topic: string, out: string[]): number {
  let count = 0;
  let start = 0;
  for (;;) {
    const end = topic.indexOf(SEPARATOR, start);
    if (end === -1) {
      out[count++] = topic.slice(start);
      return count;
    }
    out[count++] = topic.slice(start, end);
    start = end + 1;
  }
}

function collect(node: TrieNode, levels: string[], count: number, i: number, dollar: boolean, out: TrieNode[]): void {
  if (i === count) {
    if (node.hasValues) out.push(node);
    // `a/#` also matches `a` itself.
    if (node.hash !== undefined && (i !== 0 || !dollar)) out.push(node.hash);
    return;
  }
  const wild = i !== 0 || !dollar;
  // A '#' node never has children, and is pruned when empty, so it always holds values.
  if (wild && node.hash !== undefined) out.push(node.hash);
  const child = node.child(levels[i]);
  if (child !== undefined) collect(child, levels, count, i + 1, dollar, out);
  if (wild && node.plus !== undefined) collect(node.plus, levels, count, i + 1, dollar, out);
}

function any(node: TrieNode, levels: string[], count: number, i: number, dollar: boolean): boolean {
  if (i === count) return node.hasValues || (node.hash !== undefined && (i !== 0 || !dollar));
  const wild = i !== 0 || !dollar;
  if (wild && node.hash !== undefined) return true;
  const child = node.child(levels[i]);
  if (child !== undefined && any(child, levels, count, i + 1, dollar)) return true;
  return wild && node.plus !== undefined && any(node.plus, levels, count, i + 1, dollar);
}
