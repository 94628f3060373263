import { describe, expect, it } from 'vitest';
import { filterCovers, filterProblem, filtersOverlap, stripSharePrefix } from '../src/topic-filter.js';

const covers = (outer: string, inner: string) => filterCovers(outer.split('/'), inner.split('/'));
const overlap = (a: string, b: string) => filtersOverlap(a.split('/'), b.split('/'));

describe('topic filter algebra', () => {
  it('matches topics against filters like MQTT', () => {
    expect(covers('a/+/c', 'a/b/c')).toBe(true);
    expect(covers('a/+/c', 'a/b/d')).toBe(false);
    expect(covers('a/#', 'a')).toBe(true);
    expect(covers('a/#', 'a/b/c')).toBe(true);
    expect(covers('a/+', 'a')).toBe(false);
    expect(covers('a/b', 'a/b/c')).toBe(false);
    expect(covers('#', 'x/y')).toBe(true);
    expect(covers('+/+', '/x')).toBe(true);
  });

  it('never lets a first-level wildcard reach $ topics', () => {
    expect(covers('#', '$SYS/broker')).toBe(false);
    expect(covers('+/broker', '$SYS/broker')).toBe(false);
    expect(covers('$SYS/#', '$SYS/broker')).toBe(true);
    expect(overlap('#', '$SYS/#')).toBe(false);
    expect(overlap('$SYS/+', '+/x')).toBe(false);
  });

  it('decides whether a rule covers a whole subscription filter', () => {
    expect(covers('a/#', 'a/+/c')).toBe(true);
    expect(covers('a/+/#', 'a/b/#')).toBe(true);
    expect(covers('a/+', 'a/#')).toBe(false);
    expect(covers('a/b', 'a/+')).toBe(false);
    expect(covers('a/+', 'a/+')).toBe(true);
    expect(covers('#', '#')).toBe(true);
  });

  it('decides whether two filters share a topic', () => {
    expect(overlap('secret/#', '#')).toBe(true);
    expect(overlap('secret/#', '+/x')).toBe(true);
    expect(overlap('secret/#', 'public/#')).toBe(false);
    expect(overlap('a/+', 'a')).toBe(false);
    expect(overlap('a/#', 'a')).toBe(true);
    expect(overlap('a', 'a/#')).toBe(true);
    expect(overlap('a/b/c', 'a/+/c')).toBe(true);
    expect(overlap('a/b/c', 'a/+/d')).toBe(false);
  });

  it('validates filters and strips share prefixes', () => {
    expect(filterProblem('a/#')).toBeUndefined();
    expect(filterProblem('a/#/b')).toMatch(/last/);
    expect(filterProblem('a/b+')).toMatch(/whole level/);
    expect(filterProblem('')).toMatch(/empty/);
    expect(stripSharePrefix('$share/g/a/b')).toBe('a/b');
    expect(stripSharePrefix('a/b')).toBe('a/b');
  });
});
