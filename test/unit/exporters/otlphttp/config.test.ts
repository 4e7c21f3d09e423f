/**
 * The otlphttp exporter's config schema, driven by src/exporters/otlphttp/testdata/config.yaml:
 * good entries (the Collector README's examples among them) parse to the settings below,
 * bad_* entries fail with exactly these errors, all at once.
 */
import path from 'node:path';
import { describe, expect, it } from 'vitest';

import { configSchema, logsUrl, metricsUrl, type OtlpHttpConfig } from '../../../../src/exporters/otlphttp/config.js';
import { packageRoot } from '../../../../src/native/binding.js';
import { configTableTests, readComponentConfigs } from '../../componentconfig.js';
import { QUEUE_DEFAULTS, RETRY_DEFAULTS, TLS_DEFAULTS } from '../defaults.js';

const configs = readComponentConfigs(path.join(packageRoot, 'src/exporters/otlphttp/testdata/config.yaml'));

/** The Collector's defaults: protobuf, gzip, 30 s, its retry and queue. */
const DEFAULTS: OtlpHttpConfig = {
  endpoint: undefined,
  metrics_endpoint: undefined,
  traces_endpoint: undefined,
  logs_endpoint: undefined,
  encoding: 'proto',
  tls: TLS_DEFAULTS,
  headers: {},
  compression: 'gzip',
  timeout: 30_000,
  retry_on_failure: RETRY_DEFAULTS,
  sending_queue: QUEUE_DEFAULTS,
  disable_keep_alives: false,
  read_buffer_size: undefined,
  write_buffer_size: undefined,
  max_idle_conns: undefined,
  max_idle_conns_per_host: undefined,
  max_conns_per_host: undefined,
  idle_conn_timeout: undefined,
  proxy_url: undefined,
  auth: undefined,
};

const KEYS =
  'endpoint, metrics_endpoint, traces_endpoint, logs_endpoint, encoding, tls, headers, compression, timeout, retry_on_failure, sending_queue, disable_keep_alives, read_buffer_size, write_buffer_size, max_idle_conns, max_idle_conns_per_host, max_conns_per_host, idle_conn_timeout, proxy_url, auth';
const URL_RULE = 'must be an http:// or https:// URL with a host, such as https://otlp.example.com:4318, but was';

const expected: Record<string, OtlpHttpConfig | string[]> = {
  'otlphttp/readme': { ...DEFAULTS, endpoint: 'https://example.com:4318' },
  'otlphttp/readme_json': { ...DEFAULTS, endpoint: 'https://example.com:4318', encoding: 'json' },
  'otlphttp/readme_signal_endpoints': {
    ...DEFAULTS,
    metrics_endpoint: 'https://example.com:4318/v1/metrics',
    traces_endpoint: 'https://example.com:4318/v1/traces',
    logs_endpoint: 'https://example.com:4318/v1/logs',
  },
  'otlphttp/readme_compression_none': { ...DEFAULTS, endpoint: 'https://example.com:4318', compression: 'none' },
  'otlphttp/everything': {
    ...DEFAULTS,
    endpoint: 'http://collector.monitoring.svc:4318/base/',
    compression: 'zstd',
    timeout: 10_000,
    headers: { Authorization: 'Bearer abc', 'X-Scope-OrgID': 'tenant-1' },
    tls: { ...TLS_DEFAULTS, ca_file: '/etc/dropreason/ca.pem', insecure_skip_verify: true },
    retry_on_failure: {
      enabled: true,
      initial_interval: 1_000,
      max_interval: 10_000,
      max_elapsed_time: 0,
      multiplier: 2,
      randomization_factor: 0,
    },
    sending_queue: { ...DEFAULTS.sending_queue, num_consumers: 2, queue_size: 50 },
    disable_keep_alives: true,
    read_buffer_size: 0,
    write_buffer_size: 524288,
    max_idle_conns: 10,
    max_idle_conns_per_host: 2,
    max_conns_per_host: 4,
    idle_conn_timeout: 90_000,
  },
  'otlphttp/bad_no_endpoint': [
    'exporters.otlphttp/bad_no_endpoint.endpoint: is required: give endpoint (the base URL, such as https://otlp.example.com:4318), metrics_endpoint or logs_endpoint',
  ],
  'otlphttp/bad_urls': [
    `exporters.otlphttp/bad_urls.endpoint: ${URL_RULE} "example.com:4318"`,
    `exporters.otlphttp/bad_urls.metrics_endpoint: ${URL_RULE} "ftp://example.com/v1/metrics"`,
  ],
  'otlphttp/bad_values': [
    `exporters.otlphttp/bad_values.encoding: must be one of 'proto', 'json', but was "protobuf"`,
    "exporters.otlphttp/bad_values.headers.bad header: is not a valid name: an HTTP header name holds letters, digits and !#$%&'*+-.^_`|~",
    "exporters.otlphttp/bad_values.compression: 'snappy' is not supported: Node has no snappy codec; use gzip or zstd, which the Collector's receiver also takes",
    'exporters.otlphttp/bad_values.timeout: must be between 1ms and 24h, but was "0s"',
    'exporters.otlphttp/bad_values.sending_queue.storage: not supported: would keep the queue in a storage extension (such as file_storage) across restarts; dropreason has no storage extensions, and needs none here: its counts are cumulative, so the first export after a restart carries every total again',
    "exporters.otlphttp/bad_values.proxy_url: not supported: would send through an HTTP proxy; Node's HTTP client has none built in, so dropreason connects to the endpoint directly",
    'exporters.otlphttp/bad_values.auth: not supported: would take credentials from an authenticator extension (bearertokenauth, oauth2client...); dropreason has no authenticator extensions: put the credential in headers, e.g. Authorization: "Bearer ${file:/var/run/secrets/token}"',
  ],
  'otlphttp/bad_unknown_key': [
    `exporters.otlphttp/bad_unknown_key.metrics_url: unknown key; accepted keys are: ${KEYS}`,
  ],
};

describe('otlphttp exporter config (testdata/config.yaml)', () => {
  configTableTests(configSchema, 'exporters', configs, expected);

  it('posts to endpoint + /v1/metrics, or to metrics_endpoint as written, as the Collector', () => {
    const url = (endpoint?: string, metrics_endpoint?: string) => metricsUrl({ endpoint, metrics_endpoint });
    expect(url('https://example.com:4318')).toBe('https://example.com:4318/v1/metrics');
    expect(url('https://example.com:4318/')).toBe('https://example.com:4318/v1/metrics');
    expect(url('https://example.com/otlp')).toBe('https://example.com/otlp/v1/metrics');
    expect(url('https://example.com', 'https://other.example.com/custom')).toBe('https://other.example.com/custom');
  });

  it('posts logs to endpoint + /v1/logs, or to logs_endpoint as written, as the Collector', () => {
    const url = (endpoint?: string, logs_endpoint?: string) => logsUrl({ endpoint, logs_endpoint });
    expect(url('https://example.com:4318')).toBe('https://example.com:4318/v1/logs');
    expect(url('https://example.com/otlp/')).toBe('https://example.com/otlp/v1/logs');
    expect(url('https://example.com', 'https://other.example.com/logs')).toBe('https://other.example.com/logs');
    expect(() => url(undefined)).toThrow('has no endpoint or logs_endpoint, so it has nowhere to send to /v1/logs');
  });

  it('documents every setting, with the Collector defaults', () => {
    const doc = configSchema.doc();
    expect(Object.keys(doc.fields!)).toEqual(KEYS.split(', '));
    expect(doc.fields!['compression']!.default).toBe('gzip');
    expect(doc.fields!['timeout']!.default).toBe('30s');
    expect(doc.fields!['encoding']!.default).toBe('proto');
    for (const [key, field] of Object.entries(doc.fields!)) expect(field.description, key).toBeTruthy();
  });
});
