import path from 'node:path';
import { describe } from 'vitest';

import { configSchema } from '../../../../src/processors/resource/config.js';
import { packageRoot } from '../../../../src/native/binding.js';
import { configTableTests, readComponentConfigs } from '../../componentconfig.js';

const configs = readComponentConfigs(path.join(packageRoot, 'src/processors/resource/testdata/config.yaml'));
const NONE = {
  key: undefined,
  value: undefined,
  from_attribute: undefined,
  from_context: undefined,
  pattern: undefined,
  converted_type: undefined,
};
const P = 'processors.resource/bad_actions.attributes';

const expected: Record<string, unknown> = {
  resource: {
    attributes: [
      { ...NONE, key: 'cloud.availability_zone', value: 'zone-1', action: 'upsert' },
      { ...NONE, key: 'k8s.cluster.name', from_attribute: 'k8s-cluster', action: 'insert' },
      { ...NONE, key: 'redundant-attribute', action: 'delete' },
    ],
  },
  'resource/cluster': { attributes: [{ ...NONE, key: 'k8s.cluster.name', value: 'prod-eu', action: 'insert' }] },
  'resource/all_actions': {
    attributes: [
      { ...NONE, key: 'a', value: 1, action: 'update' },
      { ...NONE, pattern: /^secret\./, action: 'delete' },
      { ...NONE, key: 'user', action: 'hash' },
      { ...NONE, key: 'host.name', pattern: /^(?<rack>[a-z]+)-(?<slot>\d+)$/, action: 'extract' },
      { ...NONE, key: 'slot', converted_type: 'int', action: 'convert' },
    ],
  },
  'resource/bad_empty': ['processors.resource/bad_empty.attributes: must list at least one action'],
  'resource/bad_missing': ['processors.resource/bad_missing.attributes: must be a list, but was empty'],
  'resource/bad_actions': [
    `${P}[0].action: must be one of 'insert', 'update', 'upsert', 'delete', 'hash', 'extract', 'convert', but was "rename"`,
    `${P}[1].key: is required for action insert`,
    `${P}[2].value: action upsert needs exactly one of value or from_attribute, but 0 were given`,
    `${P}[3].value: action update needs exactly one of value or from_attribute, but 2 were given`,
    `${P}[4].value: is only used with insert, update and upsert, not delete`,
    `${P}[5].pattern: must have at least one named group (?P<name>...) for action extract, but was "[a-z]+"`,
    `${P}[6].converted_type: is required for action convert: one of 'int', 'double', 'string'`,
    `${P}[7].from_context: is not supported: it reads the metadata of an incoming request, and the dropreason receiver reads the kernel, not requests; use value or from_attribute`,
    `${P}[8].pattern: is not a valid regular expression: Invalid regular expression: /(/: Unterminated group`,
  ],
};

describe('resource processor config (testdata/config.yaml)', () => {
  configTableTests(configSchema, 'processors', configs, expected);
});
