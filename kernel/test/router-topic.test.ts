import { describe, expect, it } from 'vitest';
import { TopicRouter } from '../src/router/index.js';
import { isValidTopicFilter, isValidTopicName } from '../src/router/topic.js';

describe('isValidTopicName', () => {
  it.each(['a', 'a/b', 'a//b', '/a', 'a/', '/', '$SYS/broker', 'héllo/wörld'])('accepts %j', (topic) => {
    expect(isValidTopicName(topic)).toBe(true);
  });
  it.each(['', 'a/+', 'a/#', '+', '#', 'a+b', 'a/b#', 'a\u0000b'])('refuses %j', (topic) => {
    expect(isValidTopicName(topic)).toBe(false);
  });
});

describe('isValidTopicFilter', () => {
  it.each([
    'a',
    'a/b',
    '+',
    '#',
    '+/+',
    'a/+/c',
    'a/#',
    '+/#',
    'a//b',
    '/a',
    '/',
    '$SYS/#',
    '$share/g/a/b',
    '$share/g/#',
    '$share/g/+/x',
  ])('accepts %j', (filter) => {
    expect(isValidTopicFilter(filter)).toBe(true);
  });
  it.each([
    '',
    'a/#/b',
    '#/a',
    'a#',
    'a/b#',
    'a+',
    'a/+b',
    '++',
    '##',
    'a\u0000',
    '$share',
    '$share/',
    '$share/g',
    '$share/g/',
    '$share//a',
    '$share/g+/a',
    '$share/g#/a',
    '$share/g/a/#/b',
  ])('refuses %j', (filter) => {
    expect(isValidTopicFilter(filter)).toBe(false);
  });
});

describe('TopicRouter refuses invalid filters', () => {
  it.each(['', 'a/#/b', 'a+', '$share/g', '$share//x'])('subscribe(%j) throws a TypeError', (filter) => {
    const router = new TopicRouter();
    expect(() => router.subscribe('s', filter)).toThrow(TypeError);
    expect(router.size).toBe(0);
  });
});
