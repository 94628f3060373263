/** The ready messages of a queue: FIFO, or one FIFO per priority level for `x-max-priority` queues. */
import type { Message } from '@robustmq/sdk';
import { AmqpHeaders } from './message-map.js';

export interface ReadyList<T extends { message: Message }> {
  readonly length: number;
  push(e: T): void;
  /** Puts an item back in front of its level (requeue). */
  unshift(e: T): void;
  shift(): T | undefined;
  /** The item `shift` would return. */
  peek(): T | undefined;
  clear(): void;
}

/** An array-backed FIFO whose shift is O(1) (the consumed prefix is dropped in bulk). */
export class Fifo<T extends { message: Message }> implements ReadyList<T> {
  private items: T[] = [];
  private head = 0;

  get length(): number {
    return this.items.length - this.head;
  }
  push(e: T): void {
    this.items.push(e);
  }
  unshift(e: T): void {
    if (this.head > 0) this.items[--this.head] = e;
    else this.items.unshift(e);
  }
  shift(): T | undefined {
    if (this.head >= this.items.length) return undefined;
    const e = this.items[this.head];
    this.items[this.head] = undefined as unknown as T;
    this.head++;
    if (this.head > 1024 && this.head * 2 > this.items.length) {
      this.items = this.items.slice(this.head);
      this.head = 0;
    }
    return e;
  }
  peek(): T | undefined {
    return this.items[this.head];
  }
  clear(): void {
    this.items = [];
    this.head = 0;
  }
}

/** Priority levels 0..max; a message's `priority` property above max counts as max (RabbitMQ's rule). */
export class PriorityFifo<T extends { message: Message }> implements ReadyList<T> {
  private readonly levels: Fifo<T>[];
  private count = 0;

  constructor(readonly max: number) {
    this.levels = Array.from({ length: max + 1 }, () => new Fifo<T>());
  }
  get length(): number {
    return this.count;
  }
  private level(e: T): Fifo<T> {
    const raw = e.message.headers[AmqpHeaders.priority];
    const p = raw === undefined ? 0 : Number(typeof raw === 'string' ? raw : raw.toString());
    return this.levels[Number.isInteger(p) && p > 0 ? Math.min(p, this.max) : 0];
  }
  push(e: T): void {
    this.level(e).push(e);
    this.count++;
  }
  unshift(e: T): void {
    this.level(e).unshift(e);
    this.count++;
  }
  shift(): T | undefined {
    for (let i = this.max; i >= 0; i--) {
      const e = this.levels[i].shift();
      if (e !== undefined) {
        this.count--;
        return e;
      }
    }
    return undefined;
  }
  peek(): T | undefined {
    for (let i = this.max; i >= 0; i--) {
      const e = this.levels[i].peek();
      if (e !== undefined) return e;
    }
    return undefined;
  }
  clear(): void {
    for (const l of this.levels) l.clear();
    this.count = 0;
  }
}
