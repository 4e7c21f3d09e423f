/** The dropreason receiver's settings when a user gives none, written out once for the tests. */
import type { DropReasonConfig } from '../../../../src/receiver/dropreason/config.js';

export const DROPREASON_DEFAULTS: DropReasonConfig = {
  collection_interval: 10_000,
  exclude_reasons: [],
  hook: 'auto',
  function_hooks: 'auto',
  mode: 'basic',
  peer_attributes: ['address', 'transport'],
  pod_series_ttl: 900_000,
  interfaces: { enabled: true, include: [], exclude: [], root_path: undefined },
  btf_path: undefined,
  netns: undefined,
  location: true,
  samples_per_second: 10,
  samples_per_reason_per_second: undefined,
};
