import type { Subscription } from './subscriber-state.js';
import type { TrieNode } from './trie.js';

/**
 * A `$share/{group}/{filter}` group: keyed by (group, filter), it stores members in subscription
 * order and a round-robin cursor naming the member to try first on the next publish.
 */
export class ShareGroup {
  readonly members: Subscription[] = [];
  cursor = 0;

  constructor(
    readonly name: string,
    readonly filter: string,
    readonly node: TrieNode,
  ) {}

  add(member: Subscription): void {
    this.members.push(member);
  }

  /** Removes a member, keeping the cursor on the member that was next. */
  remove(member: Subscription): void {
    const at = this.members.indexOf(member);
    if (at === -1) return;
    this.members.splice(at, 1);
    if (at < this.cursor) this.cursor--;
    if (this.cursor >= this.members.length) this.cursor = 0;
  }

  /** Moves the cursor past the member at `index`. */
  advancePast(index: number): void {
    this.cursor = this.members.length === 0 ? 0 : (index + 1) % this.members.length;
  }
}
