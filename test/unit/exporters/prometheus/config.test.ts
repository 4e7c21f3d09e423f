import path from 'node:path';
import { describe } from 'vitest';

import { type PrometheusConfig, configSchema } from '../../../../src/exporters/prometheus/config.js';
import { packageRoot } from '../../../../src/native/binding.js';
import { configTableTests, readComponentConfigs } from '../../componentconfig.js';
import { serverTls } from '../../confighttp.js';

const configs = readComponentConfigs(path.join(packageRoot, 'src/exporters/prometheus/testdata/config.yaml'));
const ENDPOINT_RULE = 'must be an endpoint host:port with a port from 1 to 65535, but was';

const DEFAULTS: PrometheusConfig = {
  endpoint: { host: '127.0.0.1', port: 9464 },
  namespace: undefined,
  const_labels: {},
  metric_expiration: 300_000,
  naming: 'otel',
  retina_context: undefined,
  send_timestamps: false,
  enable_open_metrics: false,
  add_metric_suffixes: true,
  resource_to_telemetry_conversion: { enabled: false },
  tls: undefined,
};
const KEYS =
  'endpoint, namespace, const_labels, metric_expiration, naming, retina_context, send_timestamps, enable_open_metrics, add_metric_suffixes, resource_to_telemetry_conversion, tls';
const LABEL_RULE = 'is not a valid name: label names are letters, digits and _, not starting with a digit';

const expected: Record<string, PrometheusConfig | string[]> = {
  prometheus: DEFAULTS,
  'prometheus/all_interfaces': { ...DEFAULTS, endpoint: { host: '', port: 9464 } },
  'prometheus/ipv6': { ...DEFAULTS, endpoint: { host: '::1', port: 9100 } },
  'prometheus/retina': {
    ...DEFAULTS,
    endpoint: { host: '0.0.0.0', port: 10093 },
    namespace: 'node',
    const_labels: { cluster: 'prod', zone: '3' },
    metric_expiration: 60_000,
    naming: 'retina',
  },
  'prometheus/retina_remote': { ...DEFAULTS, naming: 'retina', retina_context: 'remote' },
  'prometheus/collector_readme': {
    ...DEFAULTS,
    endpoint: { host: '1.2.3.4', port: 1234 },
    tls: serverTls({ ca_file: '/path/to/ca.pem', cert_file: '/path/to/cert.pem', key_file: '/path/to/key.pem' }),
    namespace: 'test-space',
    const_labels: { label1: 'value1' },
    send_timestamps: true,
    metric_expiration: 180 * 60_000,
    enable_open_metrics: true,
    add_metric_suffixes: false,
    resource_to_telemetry_conversion: { enabled: true },
  },
  'prometheus/tls_pem': {
    ...DEFAULTS,
    tls: {
      ca_file: undefined,
      cert_file: undefined,
      key_file: undefined,
      cert_pem: 'CERT',
      key_pem: 'KEY',
      client_ca_file: '/etc/ca.pem',
      min_version: '1.3',
      max_version: undefined,
      reload_interval: undefined,
    },
  },
  'prometheus/bad_tls': [
    'exporters.prometheus/bad_tls.tls.cert_file: exactly one of cert_file or cert_pem is required to serve TLS',
    'exporters.prometheus/bad_tls.tls.key_file: exactly one of key_file or key_pem is required to serve TLS',
    'exporters.prometheus/bad_tls.tls.max_version: must not be below min_version (1.3), but was 1.2',
    'exporters.prometheus/bad_tls.tls.reload_interval: is not supported: the certificate and key are read when the component starts; restart the agent to load new ones',
  ],
  'prometheus/bad_flags': [
    'exporters.prometheus/bad_flags.send_timestamps: must be true or false, but was "yes"',
    'exporters.prometheus/bad_flags.enable_open_metrics: must be true or false, but was 1',
    'exporters.prometheus/bad_flags.resource_to_telemetry_conversion: must be a map, but was true',
  ],
  'prometheus/bad_port_zero': [`exporters.prometheus/bad_port_zero.endpoint: ${ENDPOINT_RULE} "127.0.0.1:0"`],
  'prometheus/bad_port_too_big': [`exporters.prometheus/bad_port_too_big.endpoint: ${ENDPOINT_RULE} "127.0.0.1:65536"`],
  'prometheus/bad_no_port': [`exporters.prometheus/bad_no_port.endpoint: ${ENDPOINT_RULE} "localhost"`],
  'prometheus/bad_number': [
    'exporters.prometheus/bad_number.endpoint: must be an endpoint such as 127.0.0.1:9464, but was 9464',
  ],
  'prometheus/bad_naming': [
    `exporters.prometheus/bad_naming.naming: must be one of 'otel', 'retina', but was "grafana"`,
  ],
  'prometheus/bad_empty_namespace': ['exporters.prometheus/bad_empty_namespace.namespace: must not be empty'],
  'prometheus/bad_const_labels': [
    `exporters.prometheus/bad_const_labels.const_labels.1zone: ${LABEL_RULE}`,
    `exporters.prometheus/bad_const_labels.const_labels.k8s.cluster: ${LABEL_RULE}`,
    'exporters.prometheus/bad_const_labels.const_labels.team: must be a string, but was a list',
  ],
  'prometheus/bad_const_labels_not_a_map': [
    'exporters.prometheus/bad_const_labels_not_a_map.const_labels: must be a map of names to strings, but was "cluster=prod"',
  ],
  'prometheus/bad_expiration': [
    'exporters.prometheus/bad_expiration.metric_expiration: must be between 1s and 24h, but was "500ms"',
  ],
  'prometheus/bad_unknown_key': [
    `exporters.prometheus/bad_unknown_key.endpiont: unknown key; accepted keys are: ${KEYS}`,
    `exporters.prometheus/bad_unknown_key.scrape_interval: unknown key; accepted keys are: ${KEYS}`,
  ],
  'prometheus/bad_retina_context': [
    `exporters.prometheus/bad_retina_context.retina_context: must be one of 'local', 'remote', but was "source"`,
  ],
  'prometheus/bad_retina_context_without_retina': [
    'exporters.prometheus/bad_retina_context_without_retina.retina_context: is only used with naming: retina, but naming is otel',
  ],
};

describe('prometheus exporter config (testdata/config.yaml)', () => {
  configTableTests(configSchema, 'exporters', configs, expected);
});
