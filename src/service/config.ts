/**
 * Reads a Collector-format config file: `receivers`, `processors`, `exporters`,
 * `extensions`, and `service` (pipelines and telemetry). Every problem is reported with
 * its YAML path, all at once; nothing is started from a config with any problem.
 */
import { isPair, isScalar, isSeq, LineCounter, parseDocument, visit } from 'yaml';

import type { ComponentKind, Factory, Component, Signal } from './component.js';
import { expandValue } from './expand.js';
import { type LogEncoding, type LogLevel } from './logger.js';
import type { TelemetryMetricsConfig } from './telemetry.js';
import {
  checked,
  type ConfigIssue,
  describe,
  type Endpoint,
  endpoint,
  integer,
  join,
  list,
  object,
  oneOf,
  optional,
  string,
} from './schema.js';

export interface ComponentConfig {
  id: string;
  type: string;
  kind: ComponentKind;
  factory: Factory<unknown, Component>;
  config: unknown;
}

export interface PipelineConfig {
  id: string;
  /** What it carries, from its id: `metrics[/NAME]` or `logs[/NAME]`. */
  signal: Signal;
  receivers: string[];
  processors: string[];
  exporters: string[];
}

export interface AgentConfig {
  receivers: Map<string, ComponentConfig>;
  processors: Map<string, ComponentConfig>;
  exporters: Map<string, ComponentConfig>;
  /** Every extension defined under extensions; only those in serviceExtensions start. */
  extensions: Map<string, ComponentConfig>;
  /** service.extensions: the extensions to start, in order, before the pipelines. */
  serviceExtensions: string[];
  pipelines: PipelineConfig[];
  telemetry: { logs: { level: LogLevel; encoding: LogEncoding }; metrics: TelemetryMetricsConfig };
}

export type Registry = Record<ComponentKind, ReadonlyArray<Factory<unknown, Component>>>;

const SECTIONS: Record<string, ComponentKind> = {
  receivers: 'receiver',
  processors: 'processor',
  exporters: 'exporter',
  extensions: 'extension',
};
const TOP_LEVEL = [...Object.keys(SECTIONS), 'service'];
const ID_PATTERN = /^([a-z][a-z0-9_]*)(?:\/(.+))?$/;

/** One entry of service.telemetry.metrics.readers: the Collector's pull/prometheus form. */
const readerSchema = object({
  pull: object({
    exporter: object({
      prometheus: object({
        host: string({ default: 'localhost', description: 'Host the pull reader listens on.' }),
        port: integer({ default: 8888, min: 1, max: 65535, description: 'Port the pull reader listens on.' }),
      }),
    }),
  }),
});

const telemetrySchema = object({
  logs: object({
    level: oneOf(['debug', 'info', 'warn', 'error'] as const, { default: 'info', description: 'Lowest level logged.' }),
    encoding: oneOf(['console', 'json'] as const, {
      default: 'console',
      description: 'console: one readable line per entry; json: one JSON object per line (ts, level, msg, ...).',
    }),
  }),
  metrics: checked(
    object({
      level: oneOf(['none', 'basic', 'normal', 'detailed'] as const, {
        default: 'none',
        description: "The agent's own metrics: none turns them off.",
      }),
      address: endpoint({ default: '127.0.0.1:8888', description: "host:port serving the agent's own metrics." }),
      readers: optional(
        list(readerSchema, {
          maxItems: 1,
          description:
            "The Collector's form of address: [{pull: {exporter: {prometheus: {host, port}}}}]; one reader. Set this or address.",
        }),
      ),
    }),
    (m, path, issues) => {
      if (m.readers !== undefined && (m.address.port !== 8888 || m.address.host !== '127.0.0.1')) {
        issues.push({ path: join(path, 'readers'), message: 'set either readers or address, not both' });
      }
    },
  ),
});

/** The address of the agent's own metrics: the reader's if given, else address. */
function telemetryAddress(m: NonNullable<ReturnType<typeof telemetrySchema.parse>>['metrics']): Endpoint {
  const p = m.readers?.[0]?.pull.exporter.prometheus;
  return p ? { host: p.host === 'localhost' ? '127.0.0.1' : p.host, port: p.port } : m.address;
}

export class ConfigError extends Error {
  constructor(
    readonly source: string,
    readonly issues: ConfigIssue[],
  ) {
    super(
      `invalid configuration in ${source}:\n${issues.map((i) => `  ${i.path || '(top level)'}: ${i.message}`).join('\n')}`,
    );
  }
}

/** The dotted path of a node from the visitor's ancestors, e.g. `exporters.prometheus.endpoint`. */
function yamlPath(chain: readonly unknown[]): string {
  let out = '';
  for (let i = 0; i < chain.length; i++) {
    const node = chain[i];
    if (isPair(node) && isScalar(node.key)) out = join(out, String(node.key.value));
    else if (isSeq(node) && i + 1 < chain.length) out += `[${node.items.indexOf(chain[i + 1] as never)}]`;
  }
  return out;
}

function parseYaml(text: string, env: NodeJS.ProcessEnv, issues: ConfigIssue[]): unknown {
  const lines = new LineCounter();
  const doc = parseDocument(text, { lineCounter: lines, uniqueKeys: true });
  for (const e of doc.errors) {
    const pos = lines.linePos(e.pos[0]);
    issues.push({
      path: '',
      message: `YAML error at line ${pos.line}, column ${pos.col}: ${e.message.split('\n')[0]!.replace(/ at line \d+, column \d+:?$/, '')}`,
    });
  }
  if (doc.errors.length) return undefined;
  visit(doc, {
    Scalar(key, node, ancestors) {
      if (key === 'key' || typeof node.value !== 'string' || !node.value.includes('$')) return;
      node.value = expandValue(node.value, yamlPath([...ancestors, node]), env, issues);
    },
  });
  try {
    return doc.toJS({ maxAliasCount: 100 });
  } catch (err) {
    issues.push({ path: '', message: `YAML error: ${(err as Error).message}` });
    return undefined;
  }
}

function isRecord(v: unknown): v is Record<string, unknown> {
  return typeof v === 'object' && v !== null && !Array.isArray(v);
}

export function parseConfig(text: string, registry: Registry, env: NodeJS.ProcessEnv = process.env): AgentConfig {
  const issues: ConfigIssue[] = [];
  const raw = parseYaml(text, env, issues);
  if (issues.length) throw new ConfigError('config', issues);
  const config = buildConfig(raw, registry, issues);
  if (issues.length || !config) throw new ConfigError('config', issues);
  return config;
}

function buildConfig(raw: unknown, registry: Registry, issues: ConfigIssue[]): AgentConfig | undefined {
  if (!isRecord(raw)) {
    issues.push({
      path: '',
      message: `the config must be a map with ${TOP_LEVEL.join(', ')}, but was ${describe(raw)}`,
    });
    return undefined;
  }
  for (const key of Object.keys(raw)) {
    if (!TOP_LEVEL.includes(key)) {
      issues.push({ path: key, message: `unknown key; accepted keys are: ${TOP_LEVEL.join(', ')}` });
    }
  }

  const sections = {} as Record<ComponentKind, Map<string, ComponentConfig>>;
  // Ids present in the file, valid or not: a pipeline naming an invalid one gets no second error.
  const declared = {
    receiver: new Set<string>(),
    processor: new Set<string>(),
    exporter: new Set<string>(),
    extension: new Set<string>(),
  };
  for (const [section, kind] of Object.entries(SECTIONS)) {
    const components = new Map<string, ComponentConfig>();
    const value = raw[section];
    if (value !== undefined && value !== null && !isRecord(value)) {
      issues.push({
        path: section,
        message: `must be a map of component ids to their settings, but was ${describe(value)}`,
      });
    } else {
      for (const [id, settings] of Object.entries(value ?? {})) {
        declared[kind].add(id);
        const c = parseComponent(section, kind, id, settings, registry, issues);
        if (c) components.set(id, c);
      }
    }
    sections[kind] = components;
  }

  const service = raw['service'];
  const pipelines: PipelineConfig[] = [];
  let serviceExtensions: string[] = [];
  let telemetry: AgentConfig['telemetry'] | undefined;
  if (!isRecord(service)) {
    issues.push({ path: 'service', message: `is required: a map with pipelines, but was ${describe(service)}` });
  } else {
    for (const key of Object.keys(service)) {
      if (!['pipelines', 'telemetry', 'extensions'].includes(key)) {
        issues.push({
          path: join('service', key),
          message: 'unknown key; accepted keys are: pipelines, telemetry, extensions',
        });
      }
    }
    const exts = list(string({ nonEmpty: true }), { default: [] }).parse(
      service['extensions'],
      'service.extensions',
      issues,
    );
    const seen = new Set<string>();
    exts?.forEach((e, i) => {
      const path = `service.extensions[${i}]`;
      if (seen.has(e)) issues.push({ path, message: `'${e}' is listed twice` });
      seen.add(e);
      if (!declared.extension.has(e)) {
        const known = [...sections.extension.keys()].join(', ') || 'none';
        issues.push({
          path,
          message: `references extension '${e}', which is not configured under extensions; configured: ${known}`,
        });
      }
    });
    serviceExtensions = exts ?? [];
    const parsed = telemetrySchema.parse(service['telemetry'], 'service.telemetry', issues);
    if (parsed) {
      telemetry = {
        logs: parsed.logs,
        metrics: { level: parsed.metrics.level, address: telemetryAddress(parsed.metrics) },
      };
    }
    parsePipelines(service['pipelines'], sections, declared, pipelines, issues);
  }
  if (issues.length || !telemetry) return undefined;
  return {
    receivers: sections.receiver,
    processors: sections.processor,
    exporters: sections.exporter,
    extensions: sections.extension,
    serviceExtensions,
    pipelines,
    telemetry,
  };
}

function parseComponent(
  section: string,
  kind: ComponentKind,
  id: string,
  settings: unknown,
  registry: Registry,
  issues: ConfigIssue[],
): ComponentConfig | undefined {
  const path = join(section, id);
  const m = ID_PATTERN.exec(id);
  if (!m) {
    issues.push({ path, message: `'${id}' is not a component id: write type or type/name, e.g. prometheus/internal` });
    return undefined;
  }
  const type = m[1]!;
  const factories = registry[kind];
  const factory = factories.find((f) => f.type === type);
  if (!factory) {
    const known = factories.map((f) => f.type).join(', ') || 'none';
    issues.push({ path, message: `unknown ${kind} type '${type}'; available ${kind}s: ${known}` });
    return undefined;
  }
  const config = factory.configSchema.parse(settings, path, issues);
  if (config === undefined) return undefined;
  return { id, type, kind, factory, config };
}

function parsePipelines(
  value: unknown,
  sections: Record<ComponentKind, Map<string, ComponentConfig>>,
  declared: Record<ComponentKind, Set<string>>,
  out: PipelineConfig[],
  issues: ConfigIssue[],
): void {
  if (!isRecord(value) || Object.keys(value).length === 0) {
    issues.push({
      path: 'service.pipelines',
      message: `must define at least one pipeline, e.g. metrics or logs, but was ${describe(value)}`,
    });
    return;
  }
  for (const [id, raw] of Object.entries(value)) {
    const path = join('service.pipelines', id);
    const m = ID_PATTERN.exec(id);
    if (!m || (m[1] !== 'metrics' && m[1] !== 'logs')) {
      const signal = m?.[1] ?? id;
      issues.push({
        path,
        message: `unsupported pipeline '${signal}': dropreason produces metrics and logs (samples of drops); name it metrics, metrics/NAME, logs or logs/NAME`,
      });
      continue;
    }
    const signal: Signal = m[1];
    const pipeline = object({
      receivers: list(string({ nonEmpty: true })),
      processors: list(string({ nonEmpty: true }), { default: [] }),
      exporters: list(string({ nonEmpty: true })),
    }).parse(raw, path, issues);
    if (!pipeline) continue;
    const check = (field: 'receivers' | 'processors' | 'exporters', kind: ComponentKind) => {
      const refs = pipeline[field];
      if (field !== 'processors' && refs.length === 0) {
        issues.push({ path: join(path, field), message: `must list at least one ${kind}` });
      }
      const seen = new Set<string>();
      refs.forEach((ref, i) => {
        const defined = sections[kind];
        if (seen.has(ref)) issues.push({ path: `${path}.${field}[${i}]`, message: `'${ref}' is listed twice` });
        seen.add(ref);
        const c = defined.get(ref);
        if (c && !(c.factory.signals ?? ['metrics']).includes(signal)) {
          issues.push({
            path: `${path}.${field}[${i}]`,
            message: `${kind} '${ref}' takes ${(c.factory.signals ?? ['metrics']).join(' and ')} only, so it cannot be in a ${signal} pipeline`,
          });
        }
        if (!defined.has(ref) && !declared[kind].has(ref)) {
          const known = [...defined.keys()].join(', ') || 'none';
          issues.push({
            path: `${path}.${field}[${i}]`,
            message: `references ${kind} '${ref}', which is not configured under ${field}; configured: ${known}`,
          });
        }
      });
    };
    check('receivers', 'receiver');
    check('processors', 'processor');
    check('exporters', 'exporter');
    out.push({ id, signal, ...pipeline });
  }
}
