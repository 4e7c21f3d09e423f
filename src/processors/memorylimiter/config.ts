/**
 * The memory_limiter processor's settings, with the Collector's keys: a hard limit
 * (limit_mib, or limit_percentage of the memory available) and a spike allowance below
 * it; data is refused from the soft limit (limit − spike) on.
 */
import { checked, duration, integer, join, object, type Parsed } from '../../service/schema.js';

const fields = {
  check_interval: duration({
    minMs: 1,
    description: 'How often memory use is measured; required, as in the Collector (1s is its recommendation).',
  }),
  /**
   * @default 0
   */
  limit_mib: integer({
    default: 0,
    min: 0,
    description: "The hard limit, in MiB of the agent's resident memory (RSS). Set this or limit_percentage.",
  }),
  /**
   * @default 20% of limit_mib
   */
  spike_limit_mib: integer({
    default: 0,
    min: 0,
    description:
      'Room for growth between two checks: series are refused from limit_mib − spike_limit_mib on. 0: 20% of limit_mib.',
  }),
  /**
   * @default 0
   */
  limit_percentage: integer({
    default: 0,
    min: 0,
    max: 100,
    description:
      "The hard limit as a percentage of the memory available: the cgroup's memory.max (the container limit), else the machine's memory. Used when limit_mib is 0.",
  }),
  /**
   * @default 0
   */
  spike_limit_percentage: integer({
    default: 0,
    min: 0,
    max: 100,
    description:
      'With limit_percentage: the spike allowance, as a percentage of the memory available. 0: 20% of the limit.',
  }),
};

export const configSchema = checked(
  object(fields, {
    description:
      "Guards the agent's memory. Once its resident memory (RSS, what a container limit counts) passes the soft limit (limit − spike), it logs so once and refuses series of pods it has not passed before (pod-level data, with k8s.pod.ip), while the node totals and the pods it already passes keep flowing; below the soft limit again, it logs that too and takes new pods again. Unlike the Collector it refuses only new series, not all data: the node totals cost no more memory.",
  }),
  (c, path, issues) => {
    if (c.limit_mib === 0 && c.limit_percentage === 0) {
      issues.push({
        path: join(path, 'limit_mib'),
        message: 'either limit_mib or limit_percentage must be set above 0, but both are 0',
      });
    }
    if (c.limit_mib > 0 && c.spike_limit_mib >= c.limit_mib) {
      issues.push({
        path: join(path, 'spike_limit_mib'),
        message: `must be less than limit_mib (${c.limit_mib}), but was ${c.spike_limit_mib}`,
      });
    }
    if (c.limit_mib === 0 && c.limit_percentage > 0 && c.spike_limit_percentage >= c.limit_percentage) {
      issues.push({
        path: join(path, 'spike_limit_percentage'),
        message: `must be less than limit_percentage (${c.limit_percentage}), but was ${c.spike_limit_percentage}`,
      });
    }
  },
);
export type MemoryLimiterConfig = Parsed<typeof fields>;

const MIB = 1024 * 1024;

/** The soft limit in bytes: from it on, new pod series are refused. A spike of 0 is 20% of the limit, as in the Collector. */
export function softLimitBytes(c: MemoryLimiterConfig, availableBytes: number): number {
  const limit = c.limit_mib > 0 ? c.limit_mib * MIB : (availableBytes * c.limit_percentage) / 100;
  const given = c.limit_mib > 0 ? c.spike_limit_mib * MIB : (availableBytes * c.spike_limit_percentage) / 100;
  const spike = given > 0 ? given : limit / 5;
  return Math.floor(limit - spike);
}
