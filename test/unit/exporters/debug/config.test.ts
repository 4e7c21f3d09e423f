import path from 'node:path';
import { describe } from 'vitest';

import { type DebugConfig, configSchema } from '../../../../src/exporters/debug/config.js';
import { packageRoot } from '../../../../src/native/binding.js';
import { configTableTests, readComponentConfigs } from '../../componentconfig.js';

const configs = readComponentConfigs(path.join(packageRoot, 'src/exporters/debug/testdata/config.yaml'));

const expected: Record<string, DebugConfig | string[]> = {
  debug: { verbosity: 'normal' },
  'debug/basic': { verbosity: 'basic' },
  'debug/detailed': { verbosity: 'detailed' },
  'debug/bad_verbosity': [
    `exporters.debug/bad_verbosity.verbosity: must be one of 'basic', 'normal', 'detailed', but was "loud"`,
  ],
  'debug/bad_unknown_key': ['exporters.debug/bad_unknown_key.loglevel: unknown key; accepted keys are: verbosity'],
};

describe('debug exporter config (testdata/config.yaml)', () => {
  configTableTests(configSchema, 'exporters', configs, expected);
});
