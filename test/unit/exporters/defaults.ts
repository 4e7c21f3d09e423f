/**
 * What the exporters' shared settings (tls, retry_on_failure, sending_queue) are when a
 * user gives none: the Collector's defaults, written out once for the exporters' config tests.
 */
import type { QueueConfig, RetryConfig, TlsConfig } from '../../../src/exporters/exporterhelper/config.js';

export const TLS_DEFAULTS: TlsConfig = {
  insecure: false,
  insecure_skip_verify: false,
  ca_file: undefined,
  ca_pem: undefined,
  cert_file: undefined,
  cert_pem: undefined,
  key_file: undefined,
  key_pem: undefined,
  include_system_ca_certs_pool: false,
  min_version: '1.2',
  max_version: undefined,
  server_name_override: undefined,
  reload_interval: 0,
  cipher_suites: undefined,
  curve_preferences: undefined,
  tpm: undefined,
};

export const RETRY_DEFAULTS: RetryConfig = {
  enabled: true,
  initial_interval: 5_000,
  randomization_factor: 0.5,
  multiplier: 1.5,
  max_interval: 30_000,
  max_elapsed_time: 300_000,
};

export const QUEUE_DEFAULTS: QueueConfig = {
  enabled: true,
  num_consumers: 10,
  queue_size: 1000,
  sizer: 'requests',
  wait_for_result: false,
  block_on_overflow: undefined,
  blocking: undefined,
  storage: undefined,
  batch: undefined,
};
