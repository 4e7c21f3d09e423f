import { describe, expect, it } from 'vitest';

import { formatDuration, parseDuration } from '../../../src/service/duration.js';

describe('parseDuration', () => {
  it.each([
    ['10s', 10_000],
    ['500ms', 500],
    ['1m30s', 90_000],
    ['2h', 7_200_000],
    ['1h2m3s4ms', 3_723_004],
    ['1.5s', 1_500],
    ['250us', 0.25],
    ['250µs', 0.25],
    ['1000000ns', 1],
    ['0s', 0],
    [' 10s ', 10_000],
  ])('reads %j as %d ms', (text, ms) => {
    expect(parseDuration(text)).toBeCloseTo(ms, 9);
  });

  it.each([
    ['', 'empty'],
    ['   ', 'blank'],
    ['10', 'no unit'],
    ['s', 'no number'],
    ['10 s', 'space before the unit'],
    ['10S', 'upper-case unit'],
    ['1d', 'days are not a Go duration unit'],
    ['-5s', 'negative'],
    ['10s garbage', 'trailing text'],
    ['ten seconds', 'words'],
    ['1m30', 'a number without unit at the end'],
  ])('rejects %j (%s)', (text) => {
    expect(parseDuration(text)).toBeUndefined();
  });
});

describe('formatDuration', () => {
  it.each([
    [0, '0ms'],
    [500, '500ms'],
    [1_500, '1500ms'],
    [10_000, '10s'],
    [90_000, '90s'],
    [60_000, '1m'],
    [120_000, '2m'],
    [3_600_000, '1h'],
    [86_400_000, '24h'],
  ])('writes %d ms as %s', (ms, text) => {
    expect(formatDuration(ms)).toBe(text);
  });

  it('writes what parseDuration reads back', () => {
    for (const ms of [1, 100, 999, 1_000, 61_000, 3_600_000, 5_400_000]) {
      expect(parseDuration(formatDuration(ms))).toBe(ms);
    }
  });
});
