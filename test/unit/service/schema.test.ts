import { describe, expect, it } from 'vitest';

import {
  type ConfigIssue,
  boolean,
  duration,
  endpoint,
  formatIssues,
  integer,
  list,
  object,
  oneOf,
  optional,
  string,
  type Schema,
} from '../../../src/service/schema.js';

/** Parses and returns the value and the issues as `path: message` lines. */
function run<T>(schema: Schema<T>, value: unknown, path = 'x'): { value: T | undefined; errors: string[] } {
  const issues: ConfigIssue[] = [];
  const parsed = schema.parse(value, path, issues);
  return { value: parsed, errors: issues.map((i) => `${i.path}: ${i.message}`) };
}

describe('string', () => {
  it('accepts strings, including empty ones unless nonEmpty', () => {
    expect(run(string(), 'abc')).toEqual({ value: 'abc', errors: [] });
    expect(run(string(), '')).toEqual({ value: '', errors: [] });
    expect(run(string({ nonEmpty: true }), '').errors).toEqual(['x: must not be empty']);
  });
  it('uses the default when the value is missing, and requires one otherwise', () => {
    expect(run(string({ default: 'd' }), undefined).value).toBe('d');
    expect(run(string({ default: 'd' }), null).value).toBe('d');
    expect(run(string(), undefined).errors).toEqual(['x: is required: a string']);
  });
  it.each([
    [42, 'x: must be a string, but was 42'],
    [true, 'x: must be a string, but was true'],
    [['a'], 'x: must be a string, but was a list'],
    [{ a: 1 }, 'x: must be a string, but was a map'],
  ])('rejects %j', (value, error) => {
    expect(run(string(), value)).toEqual({ value: undefined, errors: [error] });
  });
});

describe('oneOf', () => {
  const level = oneOf(['debug', 'info'] as const, { default: 'info' });
  it('accepts a listed value and defaults a missing one', () => {
    expect(run(level, 'debug').value).toBe('debug');
    expect(run(level, undefined).value).toBe('info');
  });
  it('names every accepted value and what was given', () => {
    expect(run(level, 'trace').errors).toEqual([`x: must be one of 'debug', 'info', but was "trace"`]);
    expect(run(level, 1).errors).toEqual([`x: must be one of 'debug', 'info', but was 1`]);
    expect(run(oneOf(['a', 'b'] as const), undefined).errors).toEqual([`x: must be one of 'a', 'b', but was empty`]);
  });
  it('is case-sensitive', () => {
    expect(run(level, 'DEBUG').errors).toHaveLength(1);
  });
});

describe('boolean', () => {
  it('accepts true and false only', () => {
    expect(run(boolean(), false).value).toBe(false);
    expect(run(boolean({ default: true }), undefined).value).toBe(true);
    expect(run(boolean(), 'yes').errors).toEqual(['x: must be true or false, but was "yes"']);
    expect(run(boolean(), 0).errors).toEqual(['x: must be true or false, but was 0']);
  });
});

describe('integer', () => {
  const port = integer({ min: 1, max: 65535 });
  it('accepts integers within bounds', () => {
    expect(run(port, 1).value).toBe(1);
    expect(run(port, 65535).value).toBe(65535);
    expect(run(integer({ default: 7 }), undefined).value).toBe(7);
  });
  it('rejects values out of bounds with both bounds', () => {
    expect(run(port, 0).errors).toEqual(['x: must be between 1 and 65535, but was 0']);
    expect(run(port, 65536).errors).toEqual(['x: must be between 1 and 65535, but was 65536']);
  });
  it('rejects fractions and strings', () => {
    expect(run(port, 1.5).errors).toEqual(['x: must be an integer, but was 1.5']);
    expect(run(port, '80').errors).toEqual(['x: must be an integer, but was "80"']);
  });
});

describe('duration', () => {
  const interval = duration({ default: 10_000, minMs: 100 });
  it('parses to milliseconds and defaults a missing value', () => {
    expect(run(interval, '1m30s').value).toBe(90_000);
    expect(run(interval, '500ms').value).toBe(500);
    expect(run(interval, undefined).value).toBe(10_000);
  });
  it('rejects non-durations, including bare numbers', () => {
    expect(run(interval, 10).errors).toEqual(['x: must be a duration such as 10s, 500ms or 1m, but was 10']);
    expect(run(interval, '10').errors).toEqual(['x: must be a duration such as 10s, 500ms or 1m, but was "10"']);
    expect(run(interval, 'soon').errors).toEqual(['x: must be a duration such as 10s, 500ms or 1m, but was "soon"']);
  });
  it('states the bounds as durations', () => {
    expect(run(interval, '50ms').errors).toEqual(['x: must be between 100ms and 24h, but was "50ms"']);
    expect(run(interval, '25h').errors).toEqual(['x: must be between 100ms and 24h, but was "25h"']);
  });
});

describe('endpoint', () => {
  const ep = endpoint({ default: '127.0.0.1:9464' });
  it.each([
    ['127.0.0.1:9464', { host: '127.0.0.1', port: 9464 }],
    ['localhost:1', { host: 'localhost', port: 1 }],
    [':9464', { host: '', port: 9464 }],
    ['[::1]:65535', { host: '::1', port: 65535 }],
    ['0.0.0.0:80', { host: '0.0.0.0', port: 80 }],
  ])('reads %j', (text, expected) => {
    expect(run(ep, text)).toEqual({ value: expected, errors: [] });
  });
  it('uses the default when missing', () => {
    expect(run(ep, undefined).value).toEqual({ host: '127.0.0.1', port: 9464 });
  });
  it.each([
    '127.0.0.1:0',
    '127.0.0.1:65536',
    '127.0.0.1:123456',
    'localhost',
    '::1:9464',
    '127.0.0.1:http',
    '[::1:9464',
  ])('rejects %j with the port range', (text) => {
    expect(run(ep, text).errors).toEqual([
      `x: must be an endpoint host:port with a port from 1 to 65535, but was ${JSON.stringify(text)}`,
    ]);
  });
  it('rejects a non-string', () => {
    expect(run(ep, 9464).errors).toEqual(['x: must be an endpoint such as 127.0.0.1:9464, but was 9464']);
    expect(run(endpoint(), undefined).errors).toEqual(['x: must be an endpoint such as 127.0.0.1:9464, but was empty']);
  });
});

describe('list', () => {
  const names = list(string({ nonEmpty: true }), { default: [], maxItems: 2 });
  it('parses items and copies the default', () => {
    expect(run(names, ['a', 'b']).value).toEqual(['a', 'b']);
    const first = run(names, undefined).value!;
    first.push('mutated');
    expect(run(names, undefined).value).toEqual([]);
  });
  it('reports each bad item by index', () => {
    expect(run(list(string({ nonEmpty: true })), ['a', '', 3]).errors).toEqual([
      'x[1]: must not be empty',
      'x[2]: must be a string, but was 3',
    ]);
  });
  it('rejects a scalar and a list that is too long', () => {
    expect(run(names, 'a').errors).toEqual(['x: must be a list, but was "a"']);
    expect(run(names, ['a', 'b', 'c']).errors).toEqual(['x: must have at most 2 items, but has 3']);
  });
});

describe('optional', () => {
  it('is undefined when missing and checks the value otherwise', () => {
    const path = optional(string({ nonEmpty: true }));
    expect(run(path, undefined)).toEqual({ value: undefined, errors: [] });
    expect(run(path, '/run/netns/a').value).toBe('/run/netns/a');
    expect(run(path, '').errors).toEqual(['x: must not be empty']);
  });
});

describe('object', () => {
  const settings = object({
    endpoint: endpoint({ default: '127.0.0.1:9464' }),
    interval: duration({ default: 1_000 }),
    mode: oneOf(['a', 'b'] as const, { default: 'a' }),
    nested: object({ level: oneOf(['low', 'high'] as const, { default: 'low' }) }),
  });

  it('fills in defaults for a missing or empty map', () => {
    const expected = {
      endpoint: { host: '127.0.0.1', port: 9464 },
      interval: 1_000,
      mode: 'a',
      nested: { level: 'low' },
    };
    expect(run(settings, undefined)).toEqual({ value: expected, errors: [] });
    expect(run(settings, null)).toEqual({ value: expected, errors: [] });
    expect(run(settings, {})).toEqual({ value: expected, errors: [] });
  });

  it('lists the accepted keys for an unknown key', () => {
    expect(run(settings, { intervl: '1s' }, 'receivers.r').errors).toEqual([
      'receivers.r.intervl: unknown key; accepted keys are: endpoint, interval, mode, nested',
    ]);
    expect(run(object({}), { a: 1 }, 'p').errors).toEqual(['p.a: unknown key; accepted keys are: none']);
  });

  it('reports every error at once, each with its full path', () => {
    const { value, errors } = run(
      settings,
      { endpoint: 'nowhere', interval: 5, mode: 'c', nested: { level: 'max', extra: true }, bogus: 1 },
      'exporters.e',
    );
    expect(value).toBeUndefined();
    expect(errors).toEqual([
      'exporters.e.bogus: unknown key; accepted keys are: endpoint, interval, mode, nested',
      'exporters.e.endpoint: must be an endpoint host:port with a port from 1 to 65535, but was "nowhere"',
      'exporters.e.interval: must be a duration such as 10s, 500ms or 1m, but was 5',
      `exporters.e.mode: must be one of 'a', 'b', but was "c"`,
      'exporters.e.nested.extra: unknown key; accepted keys are: level',
      `exporters.e.nested.level: must be one of 'low', 'high', but was "max"`,
    ]);
  });

  it('rejects a list or a scalar where a map belongs', () => {
    expect(run(settings, ['a'], 'r').errors).toEqual(['r: must be a map, but was a list']);
    expect(run(settings, 'text', 'r').errors).toEqual(['r: must be a map, but was "text"']);
  });

  it('documents each field with its type and default', () => {
    const doc = object({
      interval: duration({ default: 10_000, description: 'How often.' }),
      name: optional(string()),
      mode: oneOf(['a', 'b'] as const, { default: 'b' }),
    }).doc();
    expect(doc).toEqual({
      type: 'map',
      fields: {
        interval: { type: 'duration', description: 'How often.', default: '10s' },
        name: { type: 'string (optional)' },
        mode: { type: `one of 'a', 'b'`, default: 'b' },
      },
    });
  });
});

describe('formatIssues', () => {
  it('writes one line per issue and names the top level', () => {
    expect(
      formatIssues([
        { path: '', message: 'broken' },
        { path: 'a.b', message: 'bad' },
      ]),
    ).toBe('(top level): broken\na.b: bad');
  });
});
