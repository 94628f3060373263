/**
 * Dependency-injection tokens. The kernel registers one value per token in the root container;
 * each plugin resolves them from its own child container (see {@link PluginContext.resolve}).
 */
export const Tokens = {
  Logger: Symbol.for('robustmq.Logger'),
  Config: Symbol.for('robustmq.Config'),
  LogStore: Symbol.for('robustmq.LogStore'),
  MetaStore: Symbol.for('robustmq.MetaStore'),
  Router: Symbol.for('robustmq.Router'),
  Hooks: Symbol.for('robustmq.Hooks'),
  Metrics: Symbol.for('robustmq.Metrics'),
  Clock: Symbol.for('robustmq.Clock'),
} as const;

export type Token = (typeof Tokens)[keyof typeof Tokens] | symbol | string;
