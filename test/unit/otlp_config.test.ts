/**
 * The otlp exporter's config schema, driven by src/exporters/otlp/testdata/config.yaml:
 * good entries parse to the settings below (defaults filled in), bad_* entries fail with
 * exactly these errors, all at once.
 */
import path from 'node:path';
import { describe, expect, it } from 'vitest';

import { configSchema, type OtlpConfig } from '../../src/exporters/otlp/config.js';
import { packageRoot } from '../../src/native/binding.js';
import { configTableTests, parseEntry, readComponentConfigs } from './componentconfig.js';

const configs = readComponentConfigs(path.join(packageRoot, 'src/exporters/otlp/testdata/config.yaml'));

const DEFAULTS: OtlpConfig = {
  endpoint: { host: 'localhost', port: 4317 },
  tls: {
    insecure: false,
    ca_file: undefined,
    cert_file: undefined,
    key_file: undefined,
    insecure_skip_verify: false,
  },
  headers: {},
  compression: 'gzip',
  timeout: 5_000,
  retry_on_failure: { enabled: true, initial_interval: 5_000, max_interval: 30_000, max_elapsed_time: 300_000 },
  sending_queue: { enabled: true, queue_size: 100 },
};

const KEYS = 'endpoint, tls, headers, compression, timeout, retry_on_failure, sending_queue';
const TLS_KEYS = 'insecure, ca_file, cert_file, key_file, insecure_skip_verify';
const HEADER_RULE = 'is not a valid name: header names hold only letters, digits, -, _ and .';
const ENDPOINT_RULE = 'must be an endpoint host:port with a port from 1 to 65535, but was';
const DURATION_RULE = 'must be a duration such as 10s, 500ms or 1m, but was';

const expected: Record<string, OtlpConfig | string[]> = {
  otlp: DEFAULTS,
  'otlp/everything': {
    endpoint: { host: 'collector.monitoring.svc', port: 4317 },
    tls: {
      insecure: false,
      ca_file: '/etc/dropreason/ca.pem',
      cert_file: '/etc/dropreason/client.pem',
      key_file: '/etc/dropreason/client-key.pem',
      insecure_skip_verify: false,
    },
    headers: { 'X-API-Key': 'secret', tenant: '42' },
    compression: 'none',
    timeout: 10_000,
    retry_on_failure: { enabled: true, initial_interval: 1_000, max_interval: 60_000, max_elapsed_time: 0 },
    sending_queue: { enabled: true, queue_size: 1000 },
  },
  'otlp/plaintext_ipv6': {
    ...DEFAULTS,
    endpoint: { host: '::1', port: 4317 },
    tls: { ...DEFAULTS.tls, insecure: true },
  },
  'otlp/skip_verify': {
    ...DEFAULTS,
    endpoint: { host: '10.0.0.1', port: 4317 },
    tls: { ...DEFAULTS.tls, insecure_skip_verify: true },
  },
  'otlp/no_retry_no_queue': {
    ...DEFAULTS,
    retry_on_failure: { ...DEFAULTS.retry_on_failure, enabled: false },
    sending_queue: { enabled: false, queue_size: 100 },
  },
  'otlp/bad_endpoint_no_host': [
    'exporters.otlp/bad_endpoint_no_host.endpoint: must name a host, such as localhost:4317, but was ":4317"',
  ],
  'otlp/bad_endpoint_url': [`exporters.otlp/bad_endpoint_url.endpoint: ${ENDPOINT_RULE} "https://collector:4317"`],
  'otlp/bad_tls': [
    `exporters.otlp/bad_tls.tls.verify: unknown key; accepted keys are: ${TLS_KEYS}`,
    'exporters.otlp/bad_tls.tls.insecure: must be true or false, but was "yes"',
  ],
  'otlp/bad_tls_key_without_cert': [
    'exporters.otlp/bad_tls_key_without_cert.tls.cert_file: is required with mutual TLS: give both cert_file and key_file, or neither',
  ],
  'otlp/bad_headers': [
    `exporters.otlp/bad_headers.headers.x api key: ${HEADER_RULE}`,
    'exporters.otlp/bad_headers.headers.tenant: must be a string, but was a list',
  ],
  'otlp/bad_headers_not_a_map': [
    'exporters.otlp/bad_headers_not_a_map.headers: must be a map of names to strings, but was "X-API-Key=secret"',
  ],
  'otlp/bad_compression': [`exporters.otlp/bad_compression.compression: must be one of 'gzip', 'none', but was "zstd"`],
  'otlp/bad_timeout': ['exporters.otlp/bad_timeout.timeout: must be between 1ms and 24h, but was "0s"'],
  'otlp/bad_retry': [
    'exporters.otlp/bad_retry.retry_on_failure.enabled: must be true or false, but was 1',
    `exporters.otlp/bad_retry.retry_on_failure.initial_interval: ${DURATION_RULE} "soon"`,
    `exporters.otlp/bad_retry.retry_on_failure.max_elapsed_time: ${DURATION_RULE} "-1s"`,
  ],
  'otlp/bad_retry_intervals': [
    'exporters.otlp/bad_retry_intervals.retry_on_failure.max_interval: must be at least initial_interval (10s), but was 5s',
  ],
  'otlp/bad_queue': [
    'exporters.otlp/bad_queue.sending_queue.num_consumers: unknown key; accepted keys are: enabled, queue_size',
    'exporters.otlp/bad_queue.sending_queue.queue_size: must be between 1 and 100000, but was 0',
  ],
  'otlp/bad_unknown_key': [
    `exporters.otlp/bad_unknown_key.endpiont: unknown key; accepted keys are: ${KEYS}`,
    `exporters.otlp/bad_unknown_key.balancer_name: unknown key; accepted keys are: ${KEYS}`,
  ],
};

describe('otlp exporter config (testdata/config.yaml)', () => {
  configTableTests(configSchema, 'exporters', configs, expected);

  it('rejects binary and non-ASCII headers once the map itself is well formed', () => {
    const got = parseEntry(configSchema, 'exporters', 'otlp', {
      headers: { 'grpc-trace-bin': 'AAEC', note: 'café' },
    });
    expect(got.errors).toEqual([
      'exporters.otlp.headers.grpc-trace-bin: binary (-bin) headers are not supported: values are text',
      'exporters.otlp.headers.note: must be printable ASCII',
    ]);
  });

  it('documents every setting with its default', () => {
    const doc = configSchema.doc();
    expect(Object.keys(doc.fields!)).toEqual(KEYS.split(', '));
    expect(doc.fields!['endpoint']!.default).toBe('localhost:4317');
    expect(doc.fields!['compression']!.default).toBe('gzip');
    expect(doc.fields!['timeout']!.default).toBe('5s');
    const retry = doc.fields!['retry_on_failure']!.fields!;
    expect([
      retry['initial_interval']!.default,
      retry['max_interval']!.default,
      retry['max_elapsed_time']!.default,
    ]).toEqual(['5s', '30s', '5m']);
    expect(doc.fields!['sending_queue']!.fields!['queue_size']!.default).toBe('100');
  });
});
