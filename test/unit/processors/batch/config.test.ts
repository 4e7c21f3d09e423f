import path from 'node:path';
import { describe } from 'vitest';

import { type BatchConfig, configSchema } from '../../../../src/processors/batch/config.js';
import { packageRoot } from '../../../../src/native/binding.js';
import { configTableTests, readComponentConfigs } from '../../componentconfig.js';

const configs = readComponentConfigs(path.join(packageRoot, 'src/processors/batch/testdata/config.yaml'));
const KEYS = 'timeout, send_batch_size, send_batch_max_size, metadata_keys, metadata_cardinality_limit';

// The Collector's batchprocessor defaults.
const DEFAULTS: BatchConfig = {
  timeout: 200,
  send_batch_size: 8192,
  send_batch_max_size: 0,
  metadata_keys: [],
  metadata_cardinality_limit: 1000,
};

const expected: Record<string, BatchConfig | string[]> = {
  batch: DEFAULTS,
  'batch/2': { ...DEFAULTS, send_batch_size: 10000, timeout: 10_000 },
  'batch/split': { ...DEFAULTS, send_batch_size: 1000, send_batch_max_size: 1000, metadata_cardinality_limit: 10 },
  'batch/bad_max_below_size': [
    'processors.batch/bad_max_below_size.send_batch_max_size: must be 0 or at least send_batch_size (100), but was 10',
  ],
  'batch/bad_metadata_keys': [
    'processors.batch/bad_metadata_keys.metadata_keys: must be empty: it keeps batches apart by the metadata (headers) of incoming requests, and the dropreason receiver reads the kernel, not requests',
  ],
  'batch/bad_types': [
    'processors.batch/bad_types.timeout: must be a duration such as 10s, 500ms or 1m, but was 10',
    `processors.batch/bad_types.send_batch_size: must be between 0 and ${Number.MAX_SAFE_INTEGER}, but was -1`,
    'processors.batch/bad_types.send_batch_max_size: must be an integer, but was "many"',
  ],
  'batch/bad_unknown_key': [
    `processors.batch/bad_unknown_key.send_batch_timeout: unknown key; accepted keys are: ${KEYS}`,
  ],
};

describe('batch processor config (testdata/config.yaml)', () => {
  configTableTests(configSchema, 'processors', configs, expected);
});
