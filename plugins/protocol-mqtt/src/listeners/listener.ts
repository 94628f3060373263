/** A network listener feeding client streams to the broker. */
export interface Listener {
  /** Endpoint name reported by the plugin (`tcp`, `tls`, `ws`, `wss`). */
  readonly name: string;
  /** Starts listening; resolves with the bound port. */
  start(): Promise<number>;
  /** Stops accepting; existing connections are closed by the broker. */
  stop(): Promise<void>;
}
