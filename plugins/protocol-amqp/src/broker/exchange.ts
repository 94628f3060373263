import type { Delivery, Subscriber } from '@robustmq/sdk';
import type { FieldTable } from '../codec/field-table.js';
import type { AmqpBroker } from './broker.js';
import { type Binding, Inbound } from './binding.js';
import { type ExchangeType, exchangePrefix, isBridge, publishTopic } from './topic-map.js';

/** Declared properties of an exchange (also its durable record). */
export interface ExchangeSpec {
  name: string;
  type: ExchangeType;
  durable: boolean;
  autoDelete: boolean;
  internal: boolean;
  args: FieldTable;
}

/**
 * An exchange. Publishing to it publishes on its router topic; bindings from it are router
 * subscriptions of their destinations. As the destination of exchange-to-exchange bindings it is
 * itself a router Subscriber that re-routes what it receives through its own bindings.
 */
export class Exchange implements Subscriber {
  readonly id: string;
  readonly prefix: string;
  readonly bridge: boolean;
  /** Bindings whose source is this exchange. */
  readonly outgoing = new Set<Binding>();
  /** Bindings whose destination is this exchange. */
  readonly inbound = new Inbound();
  deleted = false;

  constructor(
    private readonly broker: AmqpBroker,
    readonly vhost: string,
    readonly spec: ExchangeSpec,
  ) {
    this.id = `amqp:x:${vhost}:${spec.name}`;
    this.prefix = exchangePrefix(vhost, spec.name);
    this.bridge = isBridge(vhost, spec.name);
  }

  get name(): string {
    return this.spec.name;
  }

  get alternateExchange(): string | undefined {
    const ae = this.spec.args['alternate-exchange'];
    return typeof ae === 'string' ? ae : undefined;
  }

  /** The router topic of a publish with `routingKey`. */
  topicFor(routingKey: string): string {
    return publishTopic(this.prefix, this.bridge, this.spec.type, routingKey);
  }

  deliver(d: Delivery): boolean {
    if (!this.deleted && this.inbound.accepts(d)) this.broker.forward(this, d.message);
    return true;
  }
}
