import path from 'node:path';
import { describe, expect, it } from 'vitest';

import { packageRoot } from '../../../../src/native/binding.js';
import { type DropReasonConfig, configSchema, samplesPerReason } from '../../../../src/receiver/dropreason/config.js';
import { configTableTests, readComponentConfigs } from '../../componentconfig.js';
import { DROPREASON_DEFAULTS } from './defaults.js';

const configs = readComponentConfigs(path.join(packageRoot, 'src/receiver/dropreason/testdata/config.yaml'));
const at = (id: string) => `receivers.${id}`;

const DEFAULTS = DROPREASON_DEFAULTS;

const expected: Record<string, DropReasonConfig | string[]> = {
  dropreason: DEFAULTS,
  'dropreason/custom': {
    collection_interval: 90_000,
    exclude_reasons: ['NO_SOCKET', 'IPTABLE_RULE_DROP'],
    hook: 'tp_btf',
    function_hooks: 'auto',
    mode: 'basic',
    peer_attributes: ['address', 'transport'],
    pod_series_ttl: 900_000,
    interfaces: { enabled: true, include: ['eth[0-9]+', 'ens.*'], exclude: ['eth9'], root_path: '/host' },
    btf_path: '/var/lib/btf/vmlinux-6.1',
    netns: '/run/netns/blue',
    location: true,
    samples_per_second: 10,
    samples_per_reason_per_second: undefined,
  },
  'dropreason/tracepoint': { ...DEFAULTS, collection_interval: 100, hook: 'tracepoint' },
  'dropreason/no_interfaces': {
    ...DEFAULTS,
    interfaces: { enabled: false, include: [], exclude: [], root_path: undefined },
  },
  'dropreason/interfaces_like_retina': {
    ...DEFAULTS,
    interfaces: { enabled: true, include: [], exclude: ['.*(lo|cbr0|lxc|azv).*'], root_path: undefined },
  },
  'dropreason/without_location': { ...DEFAULTS, location: false },
  'dropreason/bad_interval_too_short': [
    `${at('dropreason/bad_interval_too_short')}.collection_interval: must be between 100ms and 24h, but was "50ms"`,
  ],
  'dropreason/bad_interval_not_a_duration': [
    `${at('dropreason/bad_interval_not_a_duration')}.collection_interval: must be a duration such as 10s, 500ms or 1m, but was 10`,
  ],
  'dropreason/bad_hook': [
    `${at('dropreason/bad_hook')}.hook: must be one of 'auto', 'tp_btf', 'tracepoint', but was "kprobe"`,
  ],
  'dropreason/bad_unknown_key': [
    `${at('dropreason/bad_unknown_key')}.interval: unknown key; accepted keys are: mode, peer_attributes, pod_series_ttl, collection_interval, exclude_reasons, hook, function_hooks, btf_path, interfaces, netns, location, samples_per_second, samples_per_reason_per_second`,
    `${at('dropreason/bad_unknown_key')}.modus: unknown key; accepted keys are: mode, peer_attributes, pod_series_ttl, collection_interval, exclude_reasons, hook, function_hooks, btf_path, interfaces, netns, location, samples_per_second, samples_per_reason_per_second`,
  ],
  'dropreason/bad_exclude_not_a_list': [
    `${at('dropreason/bad_exclude_not_a_list')}.exclude_reasons: must be a list, but was "NO_SOCKET"`,
  ],
  'dropreason/bad_exclude_empty_name': [
    `${at('dropreason/bad_exclude_empty_name')}.exclude_reasons[1]: must not be empty`,
  ],
  'dropreason/bad_paths_empty': [
    `${at('dropreason/bad_paths_empty')}.btf_path: must not be empty`,
    `${at('dropreason/bad_paths_empty')}.netns: must not be empty`,
  ],
  'dropreason/bad_interfaces': [
    `${at('dropreason/bad_interfaces')}.interfaces.match_type: unknown key; accepted keys are: enabled, include, exclude, root_path`,
    `${at('dropreason/bad_interfaces')}.interfaces.enabled: must be true or false, but was "yes"`,
    `${at('dropreason/bad_interfaces')}.interfaces.include: must be a list, but was "eth0"`,
    `${at('dropreason/bad_interfaces')}.interfaces.exclude[0]: must be a regular expression (Unterminated character class), but was "veth["`,
    `${at('dropreason/bad_interfaces')}.interfaces.exclude[1]: must not be empty`,
  ],
  'dropreason/samples': { ...DEFAULTS, samples_per_second: 100, samples_per_reason_per_second: 20 },
  'dropreason/no_samples': { ...DEFAULTS, samples_per_second: 0 },
  'dropreason/bad_samples_over_limit': [
    `${at('dropreason/bad_samples_over_limit')}.samples_per_second: must be between 0 and 1000, but was 5000`,
    `${at('dropreason/bad_samples_over_limit')}.samples_per_reason_per_second: must be between 1 and 1000, but was 0`,
  ],
  'dropreason/bad_samples_per_reason_above_total': [
    `${at('dropreason/bad_samples_per_reason_above_total')}.samples_per_reason_per_second: must be at most samples_per_second (10), but was 11`,
  ],
  'dropreason/bad_not_a_map': [`${at('dropreason/bad_not_a_map')}: must be a map, but was a list`],
};

describe('dropreason receiver config (testdata/config.yaml)', () => {
  configTableTests(configSchema, 'receivers', configs, expected);

  it('limits samples of one reason to half the total, rounded up, unless given', () => {
    expect(samplesPerReason({ samples_per_second: 10, samples_per_reason_per_second: undefined })).toBe(5);
    expect(samplesPerReason({ samples_per_second: 7, samples_per_reason_per_second: undefined })).toBe(4);
    expect(samplesPerReason({ samples_per_second: 10, samples_per_reason_per_second: 10 })).toBe(10);
  });

  it('documents every field with its default', () => {
    const doc = configSchema.doc();
    expect(Object.keys(doc.fields ?? {})).toEqual([
      'mode',
      'peer_attributes',
      'pod_series_ttl',
      'collection_interval',
      'exclude_reasons',
      'hook',
      'function_hooks',
      'btf_path',
      'interfaces',
      'netns',
      'location',
      'samples_per_second',
      'samples_per_reason_per_second',
    ]);
    expect(doc.fields?.['collection_interval']?.default).toBe('10s');
    expect(doc.fields?.['hook']?.default).toBe('auto');
    expect(doc.fields?.['interfaces']?.fields?.['enabled']?.default).toBe('true');
    for (const [name, field] of Object.entries(doc.fields ?? {})) expect(field.description, name).toBeTruthy();
  });
});
