/**
 * Which failed gRPC exports are worth retrying. Pure functions, so they are unit-tested
 * without a network.
 */
import type { Failure } from '../exporterhelper/exporter.js';

/**
 * The gRPC status codes by number (the gRPC spec's; the same as @grpc/grpc-js's `status`,
 * which test/unit checks), here so that classifying needs no gRPC module loaded.
 */
const CODE_NAMES = [
  'OK',
  'CANCELLED',
  'UNKNOWN',
  'INVALID_ARGUMENT',
  'DEADLINE_EXCEEDED',
  'NOT_FOUND',
  'ALREADY_EXISTS',
  'PERMISSION_DENIED',
  'RESOURCE_EXHAUSTED',
  'FAILED_PRECONDITION',
  'ABORTED',
  'OUT_OF_RANGE',
  'UNIMPLEMENTED',
  'INTERNAL',
  'UNAVAILABLE',
  'DATA_LOSS',
  'UNAUTHENTICATED',
] as const;
export const status = Object.fromEntries(CODE_NAMES.map((name, code) => [name, code])) as {
  readonly [N in (typeof CODE_NAMES)[number]]: number;
};

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
  return code === undefined ? undefined : (CODE_NAMES[code] ?? `code ${code}`);
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

/** A failed export as the queue sees it. */
export function grpcFailure(error: Error): Failure {
  return { retryable: isRetryable(error), code: grpcCodeName(error) };
}
