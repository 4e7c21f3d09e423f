import path from 'node:path';
import { describe, expect, it } from 'vitest';

import { type DebugConfig, configSchema } from '../../../../src/exporters/debug/config.js';
import { packageRoot } from '../../../../src/native/binding.js';
import { parseEntry, readComponentConfigs } from '../../componentconfig.js';

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
  it('has an expectation for every entry', () => {
    expect([...configs.keys()]).toEqual(Object.keys(expected));
  });

  for (const [id, want] of Object.entries(expected)) {
    it(id, () => {
      const got = parseEntry(configSchema, 'exporters', id, configs.get(id));
      if (Array.isArray(want)) expect(got).toEqual({ value: undefined, errors: want });
      else expect(got).toEqual({ value: want, errors: [] });
    });
  }
});
