/** The wait before the next retry, as the Collector's configretry computes it. A pure function. */
import type { RetryConfig } from './config.js';

/**
 * The wait before retry number `retry` (0 for the first): initial_interval ×
 * multiplier^retry, at most max_interval, then spread uniformly over
 * ±randomization_factor of itself so that many agents do not retry in step. `random`
 * returns a number in [0, 1).
 */
export function backoffDelay(
  retry: number,
  config: Pick<RetryConfig, 'initial_interval' | 'max_interval' | 'multiplier' | 'randomization_factor'>,
  random: () => number = Math.random,
): number {
  const base = Math.min(config.max_interval, config.initial_interval * config.multiplier ** retry);
  const spread = base * config.randomization_factor;
  return Math.round(base - spread + random() * 2 * spread);
}
