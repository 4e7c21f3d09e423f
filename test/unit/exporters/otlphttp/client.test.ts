/**
 * Which OTLP/HTTP answers the otlphttp exporter retries, and how long it waits: the
 * Collector's rules (retry 429, 502, 503, 504 and transport errors; honour Retry-After on
 * 429 and 503). The wire itself is tested against a real server in
 * test/integration/otlphttp.test.ts.
 */
import { describe, expect, it } from 'vitest';

import { HttpStatusError, httpFailure, parseRetryAfter } from '../../../../src/exporters/otlphttp/client.js';

describe('otlphttp retry rules', () => {
  it('reads Retry-After as seconds or as an HTTP date', () => {
    const now = Date.parse('2026-11-29T12:00:00Z');
    expect(parseRetryAfter('30', now)).toBe(30_000);
    expect(parseRetryAfter(' 0 ', now)).toBe(0);
    expect(parseRetryAfter('Sun, 29 Nov 2026 12:00:45 GMT', now)).toBe(45_000);
    expect(parseRetryAfter('Sun, 29 Nov 2026 11:00:00 GMT', now)).toBe(0); // in the past
    expect(parseRetryAfter(undefined, now)).toBeUndefined();
    expect(parseRetryAfter('soon', now)).toBeUndefined();
  });

  it('retries 429, 502, 503 and 504, and no other status', () => {
    for (let status = 400; status < 600; status++) {
      const want = [429, 502, 503, 504].includes(status);
      expect(httpFailure(new HttpStatusError(status, undefined, '')).retryable, `HTTP ${status}`).toBe(want);
    }
  });

  it('waits as Retry-After says on 429 and 503 only', () => {
    expect(httpFailure(new HttpStatusError(429, 7_000, ''))).toEqual({
      retryable: true,
      code: 'HTTP 429',
      retryAfterMs: 7_000,
    });
    expect(httpFailure(new HttpStatusError(503, 7_000, '')).retryAfterMs).toBe(7_000);
    expect(httpFailure(new HttpStatusError(502, 7_000, '')).retryAfterMs).toBeUndefined();
  });

  it('retries transport errors, naming their code', () => {
    const refused = Object.assign(new Error('connect ECONNREFUSED 127.0.0.1:4318'), { code: 'ECONNREFUSED' });
    expect(httpFailure(refused)).toEqual({ retryable: true, code: 'ECONNREFUSED' });
    const timeout = new DOMException('The operation was aborted due to timeout', 'TimeoutError');
    expect(httpFailure(timeout as unknown as Error)).toMatchObject({ retryable: true });
  });
});
