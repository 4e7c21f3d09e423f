import path from 'node:path';
import { describe, expect, it } from 'vitest';

import {
  configSchema,
  type MemoryLimiterConfig,
  softLimitBytes,
} from '../../../../src/processors/memorylimiter/config.js';
import { packageRoot } from '../../../../src/native/binding.js';
import { configTableTests, readComponentConfigs } from '../../componentconfig.js';

const configs = readComponentConfigs(path.join(packageRoot, 'src/processors/memorylimiter/testdata/config.yaml'));
const KEYS = 'check_interval, limit_mib, spike_limit_mib, limit_percentage, spike_limit_percentage';
const NONE = { limit_mib: 0, spike_limit_mib: 0, limit_percentage: 0, spike_limit_percentage: 0 };

const expected: Record<string, MemoryLimiterConfig | string[]> = {
  memory_limiter: { ...NONE, check_interval: 1000, limit_mib: 4000, spike_limit_mib: 800 },
  'memory_limiter/percentage': { ...NONE, check_interval: 1000, limit_percentage: 50, spike_limit_percentage: 30 },
  'memory_limiter/default_spike': { ...NONE, check_interval: 5000, limit_mib: 100 },
  'memory_limiter/bad_no_interval': [
    'processors.memory_limiter/bad_no_interval.check_interval: must be a duration such as 10s, 500ms or 1m, but was empty',
  ],
  'memory_limiter/bad_no_limit': [
    'processors.memory_limiter/bad_no_limit.limit_mib: either limit_mib or limit_percentage must be set above 0, but both are 0',
  ],
  'memory_limiter/bad_spike_too_big': [
    'processors.memory_limiter/bad_spike_too_big.spike_limit_mib: must be less than limit_mib (100), but was 100',
  ],
  'memory_limiter/bad_percentage': [
    'processors.memory_limiter/bad_percentage.limit_percentage: must be between 0 and 100, but was 120',
    'processors.memory_limiter/bad_percentage.spike_limit_percentage: must be between 0 and 100, but was -1',
  ],
  'memory_limiter/bad_spike_percentage': [
    'processors.memory_limiter/bad_spike_percentage.spike_limit_percentage: must be less than limit_percentage (30), but was 40',
  ],
  'memory_limiter/bad_unknown_key': [
    `processors.memory_limiter/bad_unknown_key.ballast_size_mib: unknown key; accepted keys are: ${KEYS}`,
  ],
};

describe('memory_limiter processor config (testdata/config.yaml)', () => {
  configTableTests(configSchema, 'processors', configs, expected);
});

describe('softLimitBytes', () => {
  const MIB = 1024 * 1024;
  it('is limit_mib less spike_limit_mib', () => {
    expect(softLimitBytes({ ...NONE, check_interval: 1, limit_mib: 4000, spike_limit_mib: 800 }, 0)).toBe(3200 * MIB);
  });
  it('takes 20% of the limit as the spike when none is given, as the Collector does', () => {
    expect(softLimitBytes({ ...NONE, check_interval: 1, limit_mib: 100 }, 0)).toBe(80 * MIB);
    expect(softLimitBytes({ ...NONE, check_interval: 1, limit_percentage: 50 }, 1000 * MIB)).toBe(400 * MIB);
  });
  it('takes percentages of the memory available', () => {
    const c = { ...NONE, check_interval: 1, limit_percentage: 50, spike_limit_percentage: 30 };
    expect(softLimitBytes(c, 1000 * MIB)).toBe(200 * MIB);
  });
});
