/** The world's host import, as componentize-qjs exposes it to JavaScript (see sdk/wit/filter.wit). */
declare module 'robustmq:filter/host@1.0.0' {
  export function log(level: 'debug' | 'info' | 'warn' | 'error', message: string): void;
}
