/**
 * Publisher confirms in publish order: a confirm is sent once it and every earlier publish are
 * settled, runs of equal outcomes collapsed into one `multiple` ack or nack.
 */
export class ConfirmTracker {
  private seqs: number[] = [];
  private states: number[] = [];
  private head = 0;
  private nextSeq = 0;

  constructor(private readonly send: (ack: boolean, seq: number, multiple: boolean) => void) {}

  /** Registers the next publish and returns its sequence number (1-based). */
  next(): number {
    const seq = ++this.nextSeq;
    this.seqs.push(seq);
    this.states.push(0);
    return seq;
  }

  /** Settles a publish as acked (`true`) or nacked. */
  settle(seq: number, ack: boolean): void {
    if (this.head >= this.seqs.length) return;
    const i = seq - this.seqs[this.head] + this.head;
    if (i < this.head || i >= this.seqs.length) return;
    this.states[i] = ack ? 1 : 2;
    this.flush();
  }

  private flush(): void {
    while (this.head < this.seqs.length && this.states[this.head] !== 0) {
      const state = this.states[this.head];
      let end = this.head;
      while (end + 1 < this.seqs.length && this.states[end + 1] === state) end++;
      this.send(state === 1, this.seqs[end], end > this.head);
      this.head = end + 1;
    }
    if (this.head > 4096 && this.head * 2 > this.seqs.length) {
      this.seqs = this.seqs.slice(this.head);
      this.states = this.states.slice(this.head);
      this.head = 0;
    }
  }
}
