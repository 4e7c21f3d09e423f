import { describe, expect, it } from 'vitest';

import { endpointUrl, parseTopArgs } from '../../../src/top/options.js';

describe('parseTopArgs', () => {
  it('has defaults: basic, every second, until interrupted, in this process', () => {
    expect(parseTopArgs([])).toEqual({
      advanced: false,
      intervalMs: 1000,
      count: undefined,
      endpoint: undefined,
      netns: undefined,
      kubeconfig: undefined,
      help: false,
    });
  });

  it('reads every option, long and short', () => {
    expect(parseTopArgs(['-a', '-i', '500ms', '-n', '3', '--netns', '/run/netns/x', '--kubeconfig', 'kc'])).toEqual({
      advanced: true,
      intervalMs: 500,
      count: 3,
      endpoint: undefined,
      netns: '/run/netns/x',
      kubeconfig: 'kc',
      help: false,
    });
    const o = parseTopArgs(['--endpoint', '127.0.0.1:9464', '--interval', '2', '--count', '1']);
    expect([o.endpoint, o.intervalMs, o.count]).toEqual(['http://127.0.0.1:9464/metrics', 2000, 1]);
  });

  it.each([
    [['--interval', 'soon'], "--interval must be a duration such as 1s or 500ms, but was 'soon'"],
    [['--interval', '50ms'], "--interval must be at least 100ms, but was '50ms'"],
    [['--count', '0'], "--count must be a whole number of refreshes, 1 or more, but was '0'"],
    [['--count', '2.5'], "--count must be a whole number of refreshes, 1 or more, but was '2.5'"],
    [['--endpoint', 'ftp://x/metrics'], "--endpoint must be an http or https URL, but was 'ftp://x/metrics'"],
    [
      ['--endpoint', 'http://[::1'],
      "--endpoint must be a URL such as http://127.0.0.1:9464/metrics, but was 'http://[::1'",
    ],
    [
      ['--endpoint', 'x:1', '--netns', '/run/netns/a'],
      '--netns applies to the counter this command loads itself, not to --endpoint (set netns in the agent config)',
    ],
    [['--kubeconfig', 'kc'], '--kubeconfig names pods, so it needs --advanced'],
    [['--netns', '', '-a'], '--netns must not be empty'],
    [['extra'], "Unexpected argument 'extra'. This command does not take positional arguments"],
  ])('refuses %j', (args, message) => {
    expect(() => parseTopArgs(args)).toThrow(message);
  });
});

describe('endpointUrl', () => {
  it('adds http:// and /metrics when left out, and keeps a path given', () => {
    expect(endpointUrl('127.0.0.1:9464')).toBe('http://127.0.0.1:9464/metrics');
    expect(endpointUrl('http://node:9464')).toBe('http://node:9464/metrics');
    expect(endpointUrl('https://node:9464/other/path')).toBe('https://node:9464/other/path');
    expect(endpointUrl('http://[::1]:9464/metrics')).toBe('http://[::1]:9464/metrics');
  });
});
