import path from 'node:path';
import { describe } from 'vitest';

import { configSchema, type HealthCheckConfig } from '../../../../src/extensions/healthcheck/config.js';
import { packageRoot } from '../../../../src/native/binding.js';
import { configTableTests, readComponentConfigs } from '../../componentconfig.js';
import { serverTls } from '../../confighttp.js';

const configs = readComponentConfigs(path.join(packageRoot, 'src/extensions/healthcheck/testdata/config.yaml'));

const defaults: HealthCheckConfig = {
  endpoint: { host: 'localhost', port: 13133 },
  path: '/',
  response_body: undefined,
  check_collector_pipeline: undefined,
  tls: undefined,
};

const expected: Record<string, HealthCheckConfig | string[]> = {
  health_check: defaults,
  'health_check/1': {
    endpoint: { host: 'localhost', port: 13 },
    path: '/health/status',
    response_body: undefined,
    check_collector_pipeline: { enabled: true, interval: 300_000, exporter_failure_threshold: 5 },
    tls: serverTls({ ca_file: '/path/to/ca.crt', cert_file: '/path/to/cert.crt', key_file: '/path/to/key.key' }),
  },
  'health_check/probes': {
    ...defaults,
    endpoint: { host: '0.0.0.0', port: 13133 },
    response_body: { healthy: "I'm OK", unhealthy: "I'm not well" },
  },
  'health_check/bad_endpoint': [
    'extensions.health_check/bad_endpoint.endpoint: must be an endpoint such as 127.0.0.1:9464, but was 13133',
  ],
  'health_check/bad_path': ['extensions.health_check/bad_path.path: must start with /, but was "health"'],
  'health_check/bad_response_body': [
    'extensions.health_check/bad_response_body.response_body.ok: unknown key; accepted keys are: healthy, unhealthy',
  ],
  'health_check/bad_tls': [
    'extensions.health_check/bad_tls.tls.key_file: exactly one of key_file or key_pem is required to serve TLS',
  ],
};

describe('health_check extension config (testdata/config.yaml)', () => {
  configTableTests(configSchema, 'extensions', configs, expected);
});
