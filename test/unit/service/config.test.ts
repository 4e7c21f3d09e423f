/**
 * The config reader with the real component registry, driven by the files in
 * test/unit/testdata/config: good_* files parse to the settings written below, bad_* files
 * fail with exactly the errors written below, all at once.
 */
import fs from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { describe, expect, it } from 'vitest';

import { registry } from '../../../src/components.js';
import { debugExporterFactory } from '../../../src/exporters/debug/factory.js';
import { prometheusExporterFactory } from '../../../src/exporters/prometheus/factory.js';
import { dropReasonReceiverFactory } from '../../../src/receiver/dropreason/factory.js';
import { type AgentConfig, ConfigError, parseConfig } from '../../../src/service/config.js';
import { DROPREASON_DEFAULTS } from '../receiver/dropreason/defaults.js';
import { BAD_TYPES_ERRORS } from './bad_types_errors.js';

const TESTDATA = path.join(path.dirname(fileURLToPath(import.meta.url)), '../testdata/config');

/** The parts of an AgentConfig a user wrote, as plain data. */
function summary(config: AgentConfig) {
  const section = (m: AgentConfig['receivers']) =>
    Object.fromEntries([...m].map(([id, c]) => [id, { type: c.type, kind: c.kind, config: c.config }]));
  return {
    receivers: section(config.receivers),
    processors: section(config.processors),
    exporters: section(config.exporters),
    pipelines: config.pipelines,
    telemetry: config.telemetry,
  };
}

interface Case {
  env?: NodeJS.ProcessEnv;
  /** The parsed config, for good files. */
  expected?: ReturnType<typeof summary>;
  /** Every error, `path: message`, in order, for bad files. */
  errors?: string[];
  /** For YAML syntax errors: the start of the first error (the rest is the YAML library's wording). */
  firstErrorStartsWith?: string;
}

/** service.telemetry.metrics when the config says nothing: off, with the Collector's :8888 ready. */
const TELEMETRY_METRICS_OFF = { level: 'none' as const, address: { host: '127.0.0.1', port: 8888 } };

/** The prometheus exporter's settings a config leaves out. */
const PROMETHEUS_NEW_KEYS = {
  send_timestamps: false,
  enable_open_metrics: false,
  add_metric_suffixes: true,
  resource_to_telemetry_conversion: { enabled: false },
  tls: undefined,
};
const PROMETHEUS_DEFAULTS = {
  namespace: undefined,
  const_labels: {},
  metric_expiration: 300_000,
  naming: 'otel',
  ...PROMETHEUS_NEW_KEYS,
};

const PROMETHEUS_KEYS =
  'endpoint, namespace, const_labels, metric_expiration, naming, retina_context, send_timestamps, enable_open_metrics, add_metric_suffixes, resource_to_telemetry_conversion, tls';
const TOP_KEYS = 'receivers, processors, exporters, extensions, service';
const DROPREASON_KEYS =
  'mode, peer_attributes, pod_series_ttl, collection_interval, exclude_reasons, hook, function_hooks, btf_path, interfaces, netns, location, samples_per_second, samples_per_reason_per_second';
const ENDPOINT_RULE = 'must be an endpoint host:port with a port from 1 to 65535, but was';

const cases: Record<string, Case> = {
  good: {
    expected: {
      receivers: {
        dropreason: {
          type: 'dropreason',
          kind: 'receiver',
          config: {
            collection_interval: 90_000,
            exclude_reasons: ['NO_SOCKET', 'IPTABLE_RULE_DROP'],
            hook: 'tp_btf',
            function_hooks: 'auto',
            mode: 'basic',
            peer_attributes: ['address', 'transport'],
            pod_series_ttl: 900_000,
            btf_path: '/var/lib/btf/vmlinux',
            interfaces: { enabled: true, include: [], exclude: [], root_path: undefined },
            netns: '/run/netns/blue',
            location: true,
            samples_per_second: 10,
            samples_per_reason_per_second: undefined,
          },
        },
        'dropreason/unused': { type: 'dropreason', kind: 'receiver', config: DROPREASON_DEFAULTS },
      },
      processors: {},
      exporters: {
        prometheus: {
          type: 'prometheus',
          kind: 'exporter',
          config: { ...PROMETHEUS_DEFAULTS, endpoint: { host: '0.0.0.0', port: 9100 } },
        },
        'prometheus/internal': {
          type: 'prometheus',
          kind: 'exporter',
          config: {
            endpoint: { host: '::1', port: 9464 },
            namespace: 'node',
            const_labels: { cluster: 'prod' },
            metric_expiration: 60_000,
            naming: 'retina',
            ...PROMETHEUS_NEW_KEYS,
          },
        },
        debug: { type: 'debug', kind: 'exporter', config: { verbosity: 'detailed' } },
      },
      pipelines: [
        {
          id: 'metrics',
          signal: 'metrics',
          receivers: ['dropreason'],
          processors: [],
          exporters: ['prometheus', 'debug'],
        },
        {
          id: 'metrics/internal',
          signal: 'metrics',
          receivers: ['dropreason'],
          processors: [],
          exporters: ['prometheus/internal'],
        },
      ],
      telemetry: { logs: { level: 'debug', encoding: 'console' }, metrics: TELEMETRY_METRICS_OFF },
    },
  },
  good_defaults: {
    expected: {
      receivers: { dropreason: { type: 'dropreason', kind: 'receiver', config: DROPREASON_DEFAULTS } },
      processors: {},
      exporters: {
        prometheus: {
          type: 'prometheus',
          kind: 'exporter',
          config: { ...PROMETHEUS_DEFAULTS, endpoint: { host: '127.0.0.1', port: 9464 } },
        },
      },
      pipelines: [
        { id: 'metrics', signal: 'metrics', receivers: ['dropreason'], processors: [], exporters: ['prometheus'] },
      ],
      telemetry: { logs: { level: 'info', encoding: 'console' }, metrics: TELEMETRY_METRICS_OFF },
    },
  },
  good_env: {
    // DROPREASON_TEST_HOST and DROPREASON_TEST_BTF_DIR are unset: they take their defaults.
    // DROPREASON_TEST_EMPTY is set but empty: as in the Collector, `:-` does not apply, and
    // an empty whole value leaves the key unset.
    env: { DROPREASON_TEST_INTERVAL: '30s', DROPREASON_TEST_PORT: '9999', DROPREASON_TEST_EMPTY: '' },
    expected: {
      receivers: {
        dropreason: {
          type: 'dropreason',
          kind: 'receiver',
          config: { ...DROPREASON_DEFAULTS, collection_interval: 30_000, btf_path: '/sys/kernel/btf/vmlinux' },
        },
      },
      processors: {},
      exporters: {
        prometheus: {
          type: 'prometheus',
          kind: 'exporter',
          config: { ...PROMETHEUS_DEFAULTS, endpoint: { host: '127.0.0.1', port: 9999 } },
        },
      },
      pipelines: [
        { id: 'metrics', signal: 'metrics', receivers: ['dropreason'], processors: [], exporters: ['prometheus'] },
      ],
      telemetry: { logs: { level: 'info', encoding: 'console' }, metrics: TELEMETRY_METRICS_OFF },
    },
  },
  bad_yaml: {
    // The flow sequence opened on line 4 is still open when `service:` starts line 5.
    firstErrorStartsWith:
      '(top level): YAML error at line 5, column 1: Flow sequence in block collection must be sufficiently indented and end with a ]',
  },
  bad_duplicate_key: {
    firstErrorStartsWith: '(top level): YAML error at line 4, column 5: Map keys must be unique',
  },
  bad_empty_file: {
    errors: [`(top level): the config must be a map with ${TOP_KEYS}, but was empty`],
  },
  bad_not_a_map: {
    errors: [`(top level): the config must be a map with ${TOP_KEYS}, but was a list`],
  },
  bad_top_level: {
    errors: [
      `exporter: unknown key; accepted keys are: ${TOP_KEYS}`,
      `connectors: unknown key; accepted keys are: ${TOP_KEYS}`,
      `service.pipelines.metrics.exporters[0]: references exporter 'debug', which is not configured under exporters; configured: none`,
    ],
  },
  bad_section_not_a_map: {
    errors: [
      'receivers: must be a map of component ids to their settings, but was a list',
      `service.pipelines.metrics.receivers[0]: references receiver 'dropreason', which is not configured under receivers; configured: none`,
    ],
  },
  bad_component_type: {
    errors: [
      `receivers.otlp: unknown receiver type 'otlp'; available receivers: dropreason`,
      `processors.transform: unknown processor type 'transform'; available processors: k8sattributes, k8s_attributes, batch, memory_limiter, resource`,
    ],
  },
  bad_component_id: {
    errors: [
      `exporters.Prometheus: 'Prometheus' is not a component id: write type or type/name, e.g. prometheus/internal`,
      `exporters.debug/: 'debug/' is not a component id: write type or type/name, e.g. prometheus/internal`,
      `exporters.9debug: '9debug' is not a component id: write type or type/name, e.g. prometheus/internal`,
    ],
  },
  bad_component_key: {
    errors: [
      `receivers.dropreason.interval: unknown key; accepted keys are: ${DROPREASON_KEYS}`,
      `exporters.prometheus.endpiont: unknown key; accepted keys are: ${PROMETHEUS_KEYS}`,
      'exporters.debug.loglevel: unknown key; accepted keys are: verbosity',
    ],
  },
  bad_pipeline_reference: {
    errors: [
      `service.pipelines.metrics.receivers[1]: references receiver 'dropreason/other', which is not configured under receivers; configured: dropreason`,
      `service.pipelines.metrics.processors[0]: references processor 'batch', which is not configured under processors; configured: none`,
      `service.pipelines.metrics.exporters[1]: references exporter 'otlp', which is not configured under exporters; configured: prometheus, debug`,
      `service.pipelines.metrics.exporters[2]: 'prometheus' is listed twice`,
    ],
  },
  bad_traces_pipeline: {
    errors: [
      `service.pipelines.traces: unsupported pipeline 'traces': dropreason produces metrics and logs (samples of drops); name it metrics, metrics/NAME, logs or logs/NAME`,
      `service.pipelines.logs/drops.processors[0]: processor 'batch' takes metrics only, so it cannot be in a logs pipeline`,
      `service.pipelines.logs/drops.exporters[1]: exporter 'prometheus' takes metrics only, so it cannot be in a logs pipeline`,
    ],
  },
  bad_empty_pipelines: {
    errors: ['service.pipelines: must define at least one pipeline, e.g. metrics or logs, but was a map'],
  },
  bad_empty_pipeline_lists: {
    errors: [
      'service.pipelines.metrics.receivers: must list at least one receiver',
      'service.pipelines.metrics.exporters: must list at least one exporter',
      'service.pipelines.metrics/b.extra: unknown key; accepted keys are: receivers, processors, exporters',
      'service.pipelines.metrics/b.exporters: must be a list, but was empty',
    ],
  },
  bad_no_service: {
    errors: ['service: is required: a map with pipelines, but was empty'],
  },
  bad_env_unset: {
    env: {},
    errors: [
      'exporters.prometheus.endpoint: environment variable DROPREASON_TEST_UNSET is not set (give a default with ${env:DROPREASON_TEST_UNSET:-value})',
    ],
  },
  bad_env_syntax: {
    env: {},
    errors: [
      "receivers.dropreason.netns: cannot expand ${vault:secret/netns}: the scheme 'vault' is not supported; supported: env, file",
      'receivers.dropreason.btf_path: cannot expand ${env:1BAD}: an environment variable name is letters, digits and _, not starting with a digit; write ${NAME}, ${env:NAME} or ${env:NAME:-default}',
    ],
  },
  bad_types: { errors: BAD_TYPES_ERRORS },
  bad_port: {
    errors: [
      `exporters.prometheus.endpoint: ${ENDPOINT_RULE} "127.0.0.1:70000"`,
      `exporters.prometheus/zero.endpoint: ${ENDPOINT_RULE} ":0"`,
      `exporters.prometheus/noport.endpoint: ${ENDPOINT_RULE} "localhost"`,
    ],
  },
  bad_interval_bounds: {
    errors: [
      'receivers.dropreason.collection_interval: must be between 100ms and 24h, but was "50ms"',
      'receivers.dropreason/slow.collection_interval: must be between 100ms and 24h, but was "48h"',
    ],
  },
  bad_extensions: {
    errors: [
      `extensions.health_check.endpoint: must be an endpoint host:port with a port from 1 to 65535, but was "localhost"`,
      `extensions.zpages: unknown extension type 'zpages'; available extensions: health_check`,
      `service.extensions[1]: references extension 'pprof', which is not configured under extensions; configured: none`,
    ],
  },
};

function errorsOf(text: string, env: NodeJS.ProcessEnv): string[] {
  try {
    parseConfig(text, registry, env);
  } catch (err) {
    expect(err).toBeInstanceOf(ConfigError);
    return (err as ConfigError).issues.map((i) => `${i.path || '(top level)'}: ${i.message}`);
  }
  throw new Error('the config was accepted');
}

describe('parseConfig with testdata/config', () => {
  it('has a case for every testdata file and a file for every case', () => {
    const files = fs
      .readdirSync(TESTDATA)
      .filter((f) => f.endsWith('.yaml'))
      .map((f) => f.slice(0, -'.yaml'.length))
      .sort();
    expect(files).toEqual(Object.keys(cases).sort());
  });

  for (const [name, c] of Object.entries(cases)) {
    it(name, () => {
      const text = fs.readFileSync(path.join(TESTDATA, `${name}.yaml`), 'utf8');
      const env = c.env ?? {};
      if (c.expected) {
        expect(summary(parseConfig(text, registry, env))).toEqual(c.expected);
      } else if (c.errors) {
        expect(errorsOf(text, env)).toEqual(c.errors);
      } else {
        const errors = errorsOf(text, env);
        expect(errors[0]?.startsWith(c.firstErrorStartsWith!), `first error: ${errors[0]}`).toBe(true);
      }
    });
  }
});

describe('parseConfig', () => {
  it('ties each component to its factory', () => {
    const config = parseConfig(fs.readFileSync(path.join(TESTDATA, 'good.yaml'), 'utf8'), registry, {});
    expect(config.receivers.get('dropreason/unused')?.factory).toBe(dropReasonReceiverFactory);
    expect(config.exporters.get('prometheus/internal')?.factory).toBe(prometheusExporterFactory);
    expect(config.exporters.get('debug')?.factory).toBe(debugExporterFactory);
  });

  it('reads the environment it is given, not the process environment', () => {
    const text = fs.readFileSync(path.join(TESTDATA, 'good_env.yaml'), 'utf8');
    process.env['DROPREASON_TEST_INTERVAL'] = '1h';
    try {
      const config = parseConfig(text, registry, { DROPREASON_TEST_INTERVAL: '2s' });
      expect((config.receivers.get('dropreason')?.config as { collection_interval: number }).collection_interval).toBe(
        2_000,
      );
    } finally {
      delete process.env['DROPREASON_TEST_INTERVAL'];
    }
  });

  it('does not expand a variable inside a substituted value a second time', () => {
    const text = fs.readFileSync(path.join(TESTDATA, 'good_env.yaml'), 'utf8');
    const config = parseConfig(text, registry, {
      DROPREASON_TEST_INTERVAL: '5s',
      DROPREASON_TEST_EMPTY: '${env:DROPREASON_TEST_INTERVAL}',
    });
    expect((config.exporters.get('prometheus')?.config as { namespace: string }).namespace).toBe(
      '${env:DROPREASON_TEST_INTERVAL}',
    );
  });

  it('parses the embedded default config: drops to Prometheus on 127.0.0.1:9464 and to the debug table', () => {
    const file = path.join(TESTDATA, '../../../../otel-config.yaml');
    const config = parseConfig(fs.readFileSync(file, 'utf8'), registry, {});
    expect(config.pipelines).toEqual([
      {
        id: 'metrics',
        signal: 'metrics',
        receivers: ['dropreason'],
        processors: [],
        exporters: ['prometheus', 'debug'],
      },
    ]);
    expect(config.receivers.get('dropreason')?.config).toEqual(DROPREASON_DEFAULTS);
    expect(config.exporters.get('prometheus')?.config).toMatchObject({ endpoint: { host: '127.0.0.1', port: 9464 } });
    expect(config.exporters.get('debug')?.config).toEqual({ verbosity: 'normal' });
  });

  it('puts every error in the ConfigError message, one per line', () => {
    const text = fs.readFileSync(path.join(TESTDATA, 'bad_interval_bounds.yaml'), 'utf8');
    expect(() => parseConfig(text, registry, {})).toThrow(
      'invalid configuration in config:\n' +
        '  receivers.dropreason.collection_interval: must be between 100ms and 24h, but was "50ms"\n' +
        '  receivers.dropreason/slow.collection_interval: must be between 100ms and 24h, but was "48h"',
    );
  });
});
