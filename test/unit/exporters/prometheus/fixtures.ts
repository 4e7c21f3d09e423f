/** What the Prometheus exporter's tests share: a config, the golden files, a set of drops. */
import fs from 'node:fs';
import path from 'node:path';

import { type PrometheusConfig, configSchema } from '../../../../src/exporters/prometheus/config.js';
import { packageRoot } from '../../../../src/native/binding.js';
import { parseEntry } from '../../componentconfig.js';

/** The exporter's defaults as its schema gives them, on a free port, with overrides. */
export function exporterConfig(overrides: Partial<PrometheusConfig> = {}): PrometheusConfig {
  const { value } = parseEntry(configSchema, 'exporters', 'prometheus', {});
  return { ...value!, endpoint: { host: '127.0.0.1', port: 0 }, ...overrides };
}

export const golden = (name: string): string =>
  fs.readFileSync(path.join(packageRoot, 'src/exporters/prometheus/testdata', name), 'utf8');

/** Reason, direction, packets, bytes. */
export const DROPS: Array<[string, string, number, number]> = [
  ['NO_SOCKET', 'ingress', 42, 2520],
  ['IPTABLE_RULE_DROP', 'egress', 7, 420],
  ['UNKNOWN_DROP', 'unknown', 1, 1500],
];
