import type {
  AuthenticateRequest,
  AuthenticateResult,
  AuthorizeRequest,
  AuthorizeResult,
  FilterOutcome,
  HookBus,
  HookMap,
  HookName,
  HookOptions,
  MaybePromise,
  Message,
  Unregister,
} from '@robustmq/sdk';

/**
 * The hook bus as one plugin sees it: registrations default their owner to the plugin's name
 * (for logs and metrics) and are remembered so the kernel can remove them when the plugin stops.
 */
export class ScopedHookBus implements HookBus {
  private readonly registered = new Set<Unregister>();

  constructor(
    private readonly bus: HookBus,
    private readonly owner: string,
  ) {}

  register<K extends HookName>(name: K, handler: HookMap[K], options?: HookOptions): Unregister {
    const remove = this.bus.register(name, handler, { ...options, owner: options?.owner ?? this.owner });
    const unregister = () => {
      this.registered.delete(unregister);
      remove();
    };
    this.registered.add(unregister);
    return unregister;
  }

  /** Removes every handler this plugin registered. */
  unregisterAll(): void {
    for (const unregister of [...this.registered]) unregister();
  }

  has(name: HookName): boolean {
    return this.bus.has(name);
  }

  authenticate(req: AuthenticateRequest): MaybePromise<AuthenticateResult> {
    return this.bus.authenticate(req);
  }

  authorize(req: AuthorizeRequest): MaybePromise<AuthorizeResult> {
    return this.bus.authorize(req);
  }

  filter(message: Message): MaybePromise<FilterOutcome> {
    return this.bus.filter(message);
  }

  emit<K extends 'published' | 'delivered' | 'dropped' | 'clientConnected' | 'clientDisconnected' | 'sessionExpired'>(
    name: K,
    arg: Parameters<HookMap[K]>[0],
  ): void {
    this.bus.emit(name, arg);
  }
}
