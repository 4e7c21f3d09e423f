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
import { QUEUE_DEFAULTS, RETRY_DEFAULTS, TLS_DEFAULTS } from './exporters/defaults.js';

const configs = readComponentConfigs(path.join(packageRoot, 'src/exporters/otlp/testdata/config.yaml'));

const ep = (host: string, port = 4317, https = false) => ({
  target: `${host.includes(':') ? `[${host}]` : host}:${port}`,
  host,
  port,
  https,
});

/** The Collector's defaults (but for the endpoint, which the Collector requires). */
const DEFAULTS: OtlpConfig = {
  endpoint: ep('localhost'),
  tls: TLS_DEFAULTS,
  headers: {},
  compression: 'gzip',
  timeout: 5_000,
  retry_on_failure: RETRY_DEFAULTS,
  sending_queue: QUEUE_DEFAULTS,
  keepalive: { time: 10_000, timeout: 10_000, permit_without_stream: false },
  balancer_name: 'round_robin',
  authority: undefined,
  wait_for_ready: false,
  read_buffer_size: undefined,
  write_buffer_size: undefined,
  auth: undefined,
  middlewares: undefined,
};

const KEYS =
  'endpoint, tls, headers, compression, timeout, retry_on_failure, sending_queue, keepalive, balancer_name, authority, wait_for_ready, read_buffer_size, write_buffer_size, auth, middlewares';
const TLS_KEYS =
  'insecure, insecure_skip_verify, ca_file, ca_pem, cert_file, cert_pem, key_file, key_pem, include_system_ca_certs_pool, min_version, max_version, server_name_override, reload_interval, cipher_suites, curve_preferences, tpm';
const HEADER_RULE = 'is not a valid name: header names hold only letters, digits, -, _ and .';
const ENDPOINT_RULE =
  'must be host:port, http://host:port, https://host:port, dns:///host:port or unix:///path with a port from 1 to 65535, but was';
const DURATION_RULE = 'must be a duration such as 10s, 500ms or 1m, but was';
const MUTUAL = 'is required with mutual TLS: give both a certificate and its key (file or pem), or neither';

const expected: Record<string, OtlpConfig | string[]> = {
  otlp: DEFAULTS,
  'otlp/everything': {
    ...DEFAULTS,
    endpoint: ep('collector.monitoring.svc'),
    tls: {
      ...TLS_DEFAULTS,
      ca_file: '/etc/dropreason/ca.pem',
      cert_file: '/etc/dropreason/client.pem',
      key_file: '/etc/dropreason/client-key.pem',
    },
    headers: { 'X-API-Key': 'secret', tenant: '42' },
    compression: 'none',
    timeout: 10_000,
    retry_on_failure: { ...RETRY_DEFAULTS, initial_interval: 1_000, max_interval: 60_000, max_elapsed_time: 0 },
    sending_queue: { ...QUEUE_DEFAULTS, queue_size: 1000 },
  },
  'otlp/plaintext_ipv6': { ...DEFAULTS, endpoint: ep('::1'), tls: { ...TLS_DEFAULTS, insecure: true } },
  'otlp/skip_verify': {
    ...DEFAULTS,
    endpoint: ep('10.0.0.1'),
    tls: { ...TLS_DEFAULTS, insecure_skip_verify: true },
  },
  'otlp/no_retry_no_queue': {
    ...DEFAULTS,
    retry_on_failure: { ...RETRY_DEFAULTS, enabled: false },
    sending_queue: { ...QUEUE_DEFAULTS, enabled: false },
  },
  'otlp/bad_endpoint_no_host': [
    'exporters.otlp/bad_endpoint_no_host.endpoint: must name a host, such as localhost:4317, but was ":4317"',
  ],
  'otlp/bad_endpoint_url': [
    `exporters.otlp/bad_endpoint_url.endpoint: ${ENDPOINT_RULE} "https://collector:4317/v1/metrics"`,
  ],
  'otlp/bad_tls': [
    `exporters.otlp/bad_tls.tls.verify: unknown key; accepted keys are: ${TLS_KEYS}`,
    'exporters.otlp/bad_tls.tls.insecure: must be true or false, but was "yes"',
  ],
  'otlp/bad_tls_key_without_cert': [`exporters.otlp/bad_tls_key_without_cert.tls.cert_file: ${MUTUAL}`],
  'otlp/bad_headers': [
    `exporters.otlp/bad_headers.headers.x api key: ${HEADER_RULE}`,
    'exporters.otlp/bad_headers.headers.tenant: must be a string, but was a list',
  ],
  'otlp/bad_headers_not_a_map': [
    'exporters.otlp/bad_headers_not_a_map.headers: must be a map of names to strings, but was "X-API-Key=secret"',
  ],
  'otlp/bad_compression': [
    "exporters.otlp/bad_compression.compression: 'zstd' is not supported: grpc-js, the gRPC client here, compresses with gzip only: use gzip",
  ],
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
    'exporters.otlp/bad_queue.sending_queue.num_consumers: must be between 1 and 10000, but was 0',
    'exporters.otlp/bad_queue.sending_queue.queue_size: must be between 1 and 1000000, but was 0',
  ],
  'otlp/bad_unknown_key': [
    `exporters.otlp/bad_unknown_key.endpiont: unknown key; accepted keys are: ${KEYS}`,
    `exporters.otlp/bad_unknown_key.balancer: unknown key; accepted keys are: ${KEYS}`,
  ],
  'otlp/readme': {
    ...DEFAULTS,
    endpoint: ep('otelcol2'),
    tls: { ...TLS_DEFAULTS, cert_file: 'file.cert', key_file: 'file.key' },
  },
  'otlp/readme_2': { ...DEFAULTS, endpoint: ep('otelcol2'), tls: { ...TLS_DEFAULTS, insecure: true } },
  'otlp/collector_keys': {
    ...DEFAULTS,
    endpoint: ep('collector.example.com', 4317, true),
    timeout: 10_000,
    headers: { authorization: 'Bearer abc' },
    keepalive: { time: 30_000, timeout: 5_000, permit_without_stream: true },
    balancer_name: 'pick_first',
    authority: 'otel.example.com',
    wait_for_ready: true,
    read_buffer_size: 524288,
    write_buffer_size: 524288,
    tls: {
      ...TLS_DEFAULTS,
      insecure: true,
      ca_pem: '-----BEGIN CERTIFICATE-----\nMIIB\n-----END CERTIFICATE-----\n',
      include_system_ca_certs_pool: true,
      min_version: '1.3',
      max_version: '1.3',
      server_name_override: 'collector.internal',
      reload_interval: 3_600_000,
    },
    retry_on_failure: { ...RETRY_DEFAULTS, multiplier: 2, randomization_factor: 0.1 },
    sending_queue: {
      ...QUEUE_DEFAULTS,
      num_consumers: 4,
      queue_size: 5000,
      sizer: 'items',
      wait_for_result: true,
      block_on_overflow: false,
    },
  },
  'otlp/dns': { ...DEFAULTS, endpoint: ep('collector.monitoring.svc') },
  'otlp/bad_collector_keys': [
    "exporters.otlp/bad_collector_keys.tls.cipher_suites: not supported: takes Go's cipher suite names; dropreason's TLS is Node's (OpenSSL), which names them differently, so it uses OpenSSL's default suites for the TLS versions allowed",
    "exporters.otlp/bad_collector_keys.compression: 'zstd' is not supported: grpc-js, the gRPC client here, compresses with gzip only: use gzip",
    'exporters.otlp/bad_collector_keys.retry_on_failure.randomization_factor: must be between 0 and 1, but was 2',
    'exporters.otlp/bad_collector_keys.retry_on_failure.multiplier: must be between 1 and 100, but was 0.5',
    "exporters.otlp/bad_collector_keys.sending_queue.sizer: must be one of 'requests', 'items', but was \"bytes\"",
    'exporters.otlp/bad_collector_keys.sending_queue.storage: not supported: would keep the queue in a storage extension (such as file_storage) across restarts; dropreason has no storage extensions, and needs none here: its counts are cumulative, so the first export after a restart carries every total again',
    "exporters.otlp/bad_collector_keys.balancer_name: must be one of 'round_robin', 'pick_first', but was \"grpclb\"",
    'exporters.otlp/bad_collector_keys.auth: not supported: would take credentials from an authenticator extension (bearertokenauth, oauth2client...); dropreason has no authenticator extensions: put the credential in headers, e.g. authorization: "Bearer ${file:/var/run/secrets/token}"',
  ],
  'otlp/bad_across_keys': [
    'exporters.otlp/bad_across_keys.tls.ca_pem: give ca_file or ca_pem, not both',
    `exporters.otlp/bad_across_keys.tls.key_file: ${MUTUAL}`,
    'exporters.otlp/bad_across_keys.tls.max_version: must not be lower than min_version (1.3), but was 1.2',
    'exporters.otlp/bad_across_keys.sending_queue.block_on_overflow: only false is supported: a full queue drops its oldest batch, and the next export carries every total again',
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
    expect(doc.fields!['sending_queue']!.fields!['queue_size']!.default).toBe('1000');
  });
});
