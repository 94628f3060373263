import type { Action } from '@robustmq/sdk';
import type { AclRule, Selector } from './acl-file.js';
import { filterCovers, filtersOverlap, stripSharePrefix } from './topic-filter.js';

/** Who is asking and for what. */
export interface AclRequest {
  principal?: string;
  clientId: string;
  action: Action;
  /** Topic (publish), topic filter (subscribe, may be `$share/g/…`), queue or resource name. */
  resource: string;
}

export interface AclDecision {
  effect: 'allow' | 'deny';
  /** The rule that decided, or undefined for the default deny. */
  rule?: AclRule;
}

function selects(selector: Selector, req: AclRequest): boolean {
  switch (selector.kind) {
    case 'all':
      return true;
    case 'anonymous':
      return req.principal === undefined;
    case 'user':
      return req.principal !== undefined && selector.re.test(req.principal);
    case 'client':
      return selector.re.test(req.clientId);
  }
}

/** A substituted value that would change the filter's shape (a level separator or wildcard) is unsafe. */
function unsafe(value: string | undefined): boolean {
  return value === undefined || value === '' || /[/+#]/.test(value);
}

/** Rule filter levels for this request, or undefined when a substitution cannot be made safely. */
function ruleLevels(rule: AclRule, req: AclRequest): string[] | undefined {
  if (rule.levels) return rule.levels;
  if (rule.filter.includes('%u') && unsafe(req.principal)) return undefined;
  if (rule.filter.includes('%c') && unsafe(req.clientId)) return undefined;
  return rule.filter
    .replace(/%u/g, req.principal ?? '')
    .replace(/%c/g, req.clientId)
    .split('/');
}

/**
 * Evaluates rules in file order; the first rule whose block selects the client, whose actions
 * include the request's and whose filter applies decides. No match is a deny.
 *
 * An allow rule applies when its filter covers the whole requested filter (a subscription to `#`
 * is not allowed by `allow subscribe a/#`); a deny rule applies as soon as the two overlap (a
 * subscription to `#` is denied by `deny subscribe secret/#`), so a wildcard subscription can never
 * reach topics a deny rule protects. A deny rule whose `%u`/`%c` cannot be substituted safely
 * applies; such an allow rule does not.
 */
export function checkAcl(rules: readonly AclRule[], req: AclRequest): AclDecision {
  const resource = req.action === 'subscribe' ? stripSharePrefix(req.resource) : req.resource;
  let resourceLevels: string[] | undefined;
  for (const rule of rules) {
    if (!rule.actions.has(req.action) || !selects(rule.selector, req)) continue;
    const levels = ruleLevels(rule, req);
    if (levels === undefined) {
      if (rule.effect === 'deny') return { effect: 'deny', rule };
      continue;
    }
    resourceLevels ??= resource.split('/');
    const applies = rule.effect === 'allow' ? filterCovers(levels, resourceLevels) : filtersOverlap(levels, resourceLevels);
    if (applies) return { effect: rule.effect, rule };
  }
  return { effect: 'deny' };
}
