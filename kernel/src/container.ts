// tsyringe needs the Reflect metadata polyfill loaded before it.
import 'reflect-metadata';
import type { Token } from '@robustmq/sdk';
import { container as globalContainer, type DependencyContainer } from 'tsyringe';

export type { DependencyContainer } from 'tsyringe';

/**
 * A fresh root container for one broker. It is a child of tsyringe's global container so that
 * several brokers in one process (tests) never see each other's registrations.
 */
export function createRootContainer(values: ReadonlyArray<readonly [Token, unknown]> = []): DependencyContainer {
  const root = globalContainer.createChildContainer();
  for (const [token, value] of values) registerValue(root, token, value);
  return root;
}

/** Registers a ready-made value (no decorators or constructors involved). */
export function registerValue(container: DependencyContainer, token: Token, value: unknown): void {
  container.register(token, { useValue: value });
}

/**
 * Resolves a token, looking in parents too; throws a readable error instead of tsyringe's
 * "unregistered dependency" when nothing provides it.
 */
export function resolveValue<T>(container: DependencyContainer, token: Token): T {
  if (!container.isRegistered(token, true)) {
    throw new Error(`nothing is registered for ${String(token)} in this plugin's container or the kernel's`);
  }
  return container.resolve<T>(token);
}
