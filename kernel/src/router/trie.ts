import type { ShareGroup } from './share-group.js';
import type { Subscription } from './subscriber-state.js';
import { SEPARATOR } from './topic.js';

const DOLLAR = 36; // '$'

/**
 * One level of the subscription trie. Literal levels live in `children`; the `+` and `#` levels
 * have their own slots so matching never looks them up by string. A node holds the non-shared
 * subscriptions and the share groups whose filter ends here.
 */
export class TrieNode {
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
      this.children === undefined
    );
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
        node.children ??= new Map();
        let child = node.children.get(level);
        if (child === undefined) {
          child = new TrieNode(node, level);
          node.children.set(level, child);
        }
        node = child;
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
      else if (parent.children !== undefined) {
        parent.children.delete(current.key);
        if (parent.children.size === 0) parent.children = undefined;
      }
      current = parent;
    }
  }

  /**
   * Appends to `out` every node holding subscriptions whose filter matches `topic`. Each node is
   * reported at most once. Filters starting with a wildcard do not match `$` topics.
   */
  match(topic: string, out: TrieNode[]): void {
    const levels = topic.split(SEPARATOR);
    collect(this.root, levels, 0, topic.charCodeAt(0) === DOLLAR, out);
  }

  /** True when any subscription matches `topic`. */
  matchesAny(topic: string): boolean {
    return any(this.root, topic.split(SEPARATOR), 0, topic.charCodeAt(0) === DOLLAR);
  }
}

function collect(node: TrieNode, levels: string[], i: number, dollar: boolean, out: TrieNode[]): void {
  if (i === levels.length) {
    if (node.hasValues) out.push(node);
    // `a/#` also matches `a` itself.
    if (node.hash !== undefined && (i !== 0 || !dollar)) out.push(node.hash);
    return;
  }
  const wild = i !== 0 || !dollar;
  // A '#' node never has children, and is pruned when empty, so it always holds values.
  if (wild && node.hash !== undefined) out.push(node.hash);
  const child = node.children?.get(levels[i]);
  if (child !== undefined) collect(child, levels, i + 1, dollar, out);
  if (wild && node.plus !== undefined) collect(node.plus, levels, i + 1, dollar, out);
}

function any(node: TrieNode, levels: string[], i: number, dollar: boolean): boolean {
  if (i === levels.length) return node.hasValues || (node.hash !== undefined && (i !== 0 || !dollar));
  const wild = i !== 0 || !dollar;
  if (wild && node.hash !== undefined) return true;
  const child = node.children?.get(levels[i]);
  if (child !== undefined && any(child, levels, i + 1, dollar)) return true;
  return wild && node.plus !== undefined && any(node.plus, levels, i + 1, dollar);
}
