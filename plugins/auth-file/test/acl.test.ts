import type { Action } from '@robustmq/sdk';
import { describe, expect, it } from 'vitest';
import { checkAcl } from '../src/acl.js';
import { parseAclFile } from '../src/acl-file.js';
import { AuthFileError } from '../src/file-error.js';

const ACL = `
# Device fleet ACL
user alice
deny subscribe devices/alice/private/#
allow readwrite devices/alice/#
allow subscribe devices/alice/private/#

user admin*
allow all #

client sensor-*
allow publish sensors/%c/#

anonymous
allow subscribe public/#

all
deny subscribe secret/#
allow subscribe users/%u/#
allow read shared/+/status
`;

const rules = parseAclFile(ACL, 'acl');
const check = (principal: string | undefined, clientId: string, action: Action, resource: string) =>
  checkAcl(rules, { principal, clientId, action, resource }).effect;

describe('ACL file parser', () => {
  it('parses blocks and rules with their lines and expanded actions', () => {
    expect(rules).toHaveLength(9);
    expect(rules[0]).toMatchObject({ line: 4, effect: 'deny', filter: 'devices/alice/private/#', selector: { kind: 'user' } });
    expect(rules[1]).toMatchObject({
      line: 5,
      effect: 'allow',
      filter: 'devices/alice/#',
      selector: { kind: 'user', glob: 'alice' },
    });
    expect([...rules[1].actions].sort()).toEqual(['consume', 'publish', 'subscribe']);
    expect([...rules[3].actions].sort()).toEqual(['admin', 'consume', 'publish', 'subscribe']);
    expect(rules[4].selector.kind).toBe('client');
    expect(rules[4].levels).toBeUndefined();
    expect(rules[5].selector.kind).toBe('anonymous');
    expect(rules[6].selector.kind).toBe('all');
    expect([...rules[8].actions].sort()).toEqual(['consume', 'subscribe']);
  });

  it('accepts `pattern` as a synonym of `all` and a lone # filter', () => {
    const r = parseAclFile('pattern\nallow subscribe #\n', 'acl');
    expect(r[0]).toMatchObject({ selector: { kind: 'all' }, filter: '#' });
  });

  it('refuses bad lines naming file and line', () => {
    const cases: Array<[string, RegExp]> = [
      ['allow publish a\n', /^acl:1: rule outside a block/],
      ['user alice\nallow fly a/b\n', /^acl:2: unknown action "fly"/],
      ['user alice\nallow publish a/#/b\n', /^acl:2: `#` must be a whole level/],
      ['user alice\nallow publish\n', /^acl:2: expected `allow <actions> <topic filter>`/],
      ['all\npermit publish a\n', /^acl:2: unknown keyword "permit"/],
      ['user\n', /^acl:1: expected `user <name or glob>`/],
      ['all extra\n', /^acl:1: `all` takes no argument/],
      ['all\nallow publish a/%x\n', /^acl:2: unknown substitution "%x"/],
    ];
    for (const [text, message] of cases) {
      expect(() => parseAclFile(text, 'acl')).toThrow(AuthFileError);
      expect(() => parseAclFile(text, 'acl')).toThrow(message);
    }
  });
});

describe('ACL matcher', () => {
  it('allows what a user block grants and defaults to deny', () => {
    expect(check('alice', 'c1', 'publish', 'devices/alice/temp')).toBe('allow');
    expect(check('alice', 'c1', 'subscribe', 'devices/alice/temp/+')).toBe('allow');
    // devices/alice/+ reaches devices/alice/private, which the deny rule protects.
    expect(check('alice', 'c1', 'subscribe', 'devices/alice/+')).toBe('deny');
    expect(check('alice', 'c1', 'publish', 'devices/bob/temp')).toBe('deny');
    expect(check('alice', 'c1', 'admin', 'devices/alice/x')).toBe('deny');
    expect(check('bob', 'c2', 'publish', 'devices/alice/temp')).toBe('deny');
  });

  it('first match wins', () => {
    // The deny line comes before the allows that would also match.
    expect(check('alice', 'c1', 'subscribe', 'devices/alice/private/x')).toBe('deny');
    // A subscription reaching into the denied subtree is denied too (overlap), the rest allowed.
    expect(check('alice', 'c1', 'subscribe', 'devices/alice/#')).toBe('deny');
    expect(check('alice', 'c1', 'publish', 'devices/alice/private/x')).toBe('allow');
  });

  it('matches user globs', () => {
    expect(check('admin-1', 'x', 'admin', 'anything/at/all')).toBe('allow');
    expect(check('administrator', 'x', 'subscribe', 'secret/keys')).toBe('allow');
  });

  it('substitutes %c and %u', () => {
    expect(check(undefined, 'sensor-7', 'publish', 'sensors/sensor-7/temp')).toBe('allow');
    expect(check(undefined, 'sensor-7', 'publish', 'sensors/sensor-8/temp')).toBe('deny');
    expect(check('carol', 'c3', 'subscribe', 'users/carol/inbox')).toBe('allow');
    expect(check('carol', 'c3', 'subscribe', 'users/dave/inbox')).toBe('deny');
  });

  it('never substitutes values that would change the filter shape', () => {
    // A client id with a wildcard would otherwise widen the rule to every sensor.
    expect(check(undefined, 'sensor-+', 'publish', 'sensors/sensor-+/x')).toBe('deny');
    expect(check('#', 'c', 'subscribe', 'users/#')).toBe('deny');
    expect(check('a/b', 'c', 'subscribe', 'users/a/b/x')).toBe('deny');
    // Without a username, %u rules do not apply.
    expect(check(undefined, 'c', 'subscribe', 'users//x')).toBe('deny');
  });

  it('applies deny rules to overlapping wildcard subscriptions', () => {
    expect(check('carol', 'c', 'subscribe', 'secret/#')).toBe('deny');
    expect(check('carol', 'c', 'subscribe', '+/keys')).toBe('deny');
    expect(check('carol', 'c', 'subscribe', '$share/g/secret/x')).toBe('deny');
    expect(check('carol', 'c', 'subscribe', '$share/g/users/carol/x')).toBe('allow');
  });

  it('treats the anonymous block as clients without a username', () => {
    expect(check(undefined, 'web', 'subscribe', 'public/news')).toBe('allow');
    expect(check('carol', 'web', 'subscribe', 'public/news')).toBe('deny');
  });

  it('maps read to subscribe and consume, not publish', () => {
    expect(check('x', 'c', 'consume', 'shared/a/status')).toBe('allow');
    expect(check('x', 'c', 'subscribe', 'shared/+/status')).toBe('allow');
    expect(check('x', 'c', 'publish', 'shared/a/status')).toBe('deny');
  });
});
