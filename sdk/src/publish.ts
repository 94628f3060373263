import { type FilterOutcome, type HookBus, isPromise, type MaybePromise } from './hooks.js';
import type { Message } from './message.js';
import type { PublishResult, Router } from './router.js';

/** Result of {@link publishMessage}: routed, or dropped by a rule filter. */
export type PublishOutcome = ({ verdict: 'routed'; message: Message } & PublishResult) | { verdict: 'dropped'; reason: string };

/**
 * The one publish pipeline every protocol uses: rule filters, then the router, then the
 * `published` notification. Synchronous when no async filter is registered.
 * Authorization is the protocol's job before calling this (its error codes differ).
 */
export function publishMessage(hooks: HookBus, router: Router, message: Message): MaybePromise<PublishOutcome> {
  if (!hooks.has('filter')) return route(hooks, router, message);
  const outcome = hooks.filter(message);
  return isPromise(outcome) ? outcome.then((o) => afterFilter(hooks, router, message, o)) : afterFilter(hooks, router, message, outcome);
}

function afterFilter(hooks: HookBus, router: Router, original: Message, outcome: FilterOutcome): PublishOutcome {
  if (outcome.verdict === 'drop') {
    hooks.emit('dropped', { message: original, reason: 'filter' });
    return { verdict: 'dropped', reason: outcome.reason };
  }
  return route(hooks, router, outcome.message);
}

function route(hooks: HookBus, router: Router, message: Message): PublishOutcome {
  const result = router.publish(message);
  if (hooks.has('published')) hooks.emit('published', message);
  return { verdict: 'routed', message, ...result };
}
