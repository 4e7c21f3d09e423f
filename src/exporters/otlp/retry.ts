/**
 * Which failed exports are worth retrying, and how long to wait before the next try.
 * Pure functions, so they are unit-tested without a network.
 */
import { status } from '@grpc/grpc-js';

/**
 * gRPC codes a later try may fix: the backend is down, overloaded, or the request ran
 * out of time. The Collector's otlp exporter retries the same set (it retries
 * RESOURCE_EXHAUSTED only when the server sends RetryInfo; we always do, backing off).
 */
const RETRYABLE: ReadonlySet<number> = new Set([
  status.CANCELLED,
  status.DEADLINE_EXCEEDED,
  status.RESOURCE_EXHAUSTED,
  status.ABORTED,
  status.OUT_OF_RANGE,
  status.UNAVAILABLE,
  status.DATA_LOSS,
]);

/** The gRPC status code of an export error, if it came from the server or the channel. */
export function grpcCode(error: unknown): number | undefined {
  const code = (error as { code?: unknown } | null | undefined)?.code;
  return typeof code === 'number' ? code : undefined;
}

/** The status name (`UNAVAILABLE`), or undefined for errors that are not gRPC statuses. */
export function grpcCodeName(error: unknown): string | undefined {
  const code = grpcCode(error);
  return code === undefined ? undefined : (status[code] ?? `code ${code}`);
}

/**
 * Whether to retry. Anything else is permanent: the backend refused the data
 * (INVALID_ARGUMENT, UNIMPLEMENTED, UNAUTHENTICATED, PERMISSION_DENIED...) or the error
 * is local (no gRPC code) and would happen again.
 */
export function isRetryable(error: unknown): boolean {
  const code = grpcCode(error);
  return code !== undefined && RETRYABLE.has(code);
}

export const BACKOFF_MULTIPLIER = 1.5;
export const RANDOMIZATION_FACTOR = 0.5;

/**
 * The wait before retry number `retry` (0 for the first): initial × 1.5^retry, at most
 * max, then spread uniformly over ±50% so that many agents do not retry in step.
 * `random` returns a number in [0, 1).
 */
export function backoffDelay(
  retry: number,
  initialMs: number,
  maxMs: number,
  random: () => number = Math.random,
): number {
  const base = Math.min(maxMs, initialMs * BACKOFF_MULTIPLIER ** retry);
  const spread = base * RANDOMIZATION_FACTOR;
  return Math.round(base - spread + random() * 2 * spread);
}
