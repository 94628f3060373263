/**
 * What a conformance kit needs from the store under test. `factory` is called once per test with
 * fresh, empty storage.
 */
export interface StoreHarness<S> {
  store: S;
  /** Removes what the store left behind (temp dirs, buckets). Called after the kit closed the store. */
  cleanup?(): Promise<void>;
  /**
   * Opens a new store over the same data. The kit closes the previous store first. When present, the
   * kit checks that everything written survives close + reopen.
   */
  reopen?(): Promise<S>;
}

export type StoreFactory<S> = () => Promise<StoreHarness<S>>;

interface Closable {
  close(): Promise<void>;
}

/** Tracks the store a test is using across reopens so it is closed exactly once at the end. */
export class StoreUnderTest<S extends Closable> {
  private open = true;

  private constructor(
    private readonly harness: StoreHarness<S>,
    public store: S,
  ) {}

  static async create<S extends Closable>(factory: StoreFactory<S>): Promise<StoreUnderTest<S>> {
    const harness = await factory();
    return new StoreUnderTest(harness, harness.store);
  }

  get canReopen(): boolean {
    return typeof this.harness.reopen === 'function';
  }

  /** Closes the current store and opens a new one over the same data. */
  async reopen(): Promise<S> {
    if (!this.harness.reopen) throw new Error('this store harness has no reopen()');
    await this.store.close();
    this.open = false;
    this.store = await this.harness.reopen();
    this.open = true;
    return this.store;
  }

  async dispose(): Promise<void> {
    try {
      if (this.open) await this.store.close();
      this.open = false;
    } finally {
      await this.harness.cleanup?.();
    }
  }
}
