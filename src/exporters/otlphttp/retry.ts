/**
 * Which failed OTLP/HTTP exports are worth retrying, and when. Pure functions, so they are
 * unit-tested without a network, and loaded without the OTLP serializers (client.ts).
 */
import type { Failure } from '../exporterhelper/exporter.js';

/** A response other than 2xx. */
export class HttpStatusError extends Error {
  constructor(
    readonly status: number,
    /** The Retry-After the backend sent, in ms, if any. */
    readonly retryAfterMs: number | undefined,
    detail: string,
  ) {
    super(`HTTP ${status}${detail ? `: ${detail}` : ''}`);
  }
}

/**
 * The statuses the Collector's otlphttp exporter retries: 429 Too Many Requests, 502 Bad
 * Gateway, 503 Service Unavailable, 504 Gateway Timeout. Every other status is permanent.
 */
export const RETRYABLE_STATUSES: ReadonlySet<number> = new Set([429, 502, 503, 504]);

/** Retry-After as seconds or an HTTP date, in ms from `now`; undefined when absent or unreadable. */
export function parseRetryAfter(value: string | undefined, now: number = Date.now()): number | undefined {
  if (value === undefined || value.trim() === '') return undefined;
  if (/^\d+$/.test(value.trim())) return Number(value.trim()) * 1000;
  const at = Date.parse(value);
  return Number.isNaN(at) ? undefined : Math.max(0, at - now);
}

/**
 * As the Collector: a retryable status is retried (for 429 and 503 no sooner than
 * Retry-After says), other statuses are not; an error without a status (connection
 * refused or reset, time limit, TLS) is retried.
 */
export function httpFailure(error: Error): Failure {
  if (error instanceof HttpStatusError) {
    const throttled = error.status === 429 || error.status === 503;
    return {
      retryable: RETRYABLE_STATUSES.has(error.status),
      code: `HTTP ${error.status}`,
      retryAfterMs: throttled ? error.retryAfterMs : undefined,
    };
  }
  const code = (error as NodeJS.ErrnoException).code;
  if (code === 'ERR_SERIALIZE' || code === 'ERR_NO_ENDPOINT') return { retryable: false, code };
  return { retryable: true, code: code ?? error.name };
}
