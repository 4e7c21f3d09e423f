/**
 * Generates docs/configuration.md from the component schemas and docs/metrics.md from the
 * components' metadata, as their factories offer them, so the documentation cannot drift
 * from the code.
 */
import type { Registry } from './config.js';
import { metadata as serviceMetadata } from './metadata.generated.js';
import type { AttributeMetadata, ComponentMetadata, MetricMetadata } from './metadata.js';
import type { FieldDoc } from './schema.js';

function rows(fields: Record<string, FieldDoc>, prefix = ''): string[] {
  const out: string[] = [];
  for (const [key, doc] of Object.entries(fields)) {
    const name = prefix + key;
    const def = doc.default === undefined ? '' : `\`${doc.default}\``;
    out.push(`| \`${name}\` | ${doc.type} | ${def} | ${doc.description ?? ''} |`);
    if (doc.fields) out.push(...rows(doc.fields, `${name}.`));
  }
  return out;
}

export function configReference(registry: Registry): string {
  let out = `# Configuration reference

Generated from the config schemas by \`npm run docs\`; do not edit by hand.

A config file has the OpenTelemetry Collector's shape: \`receivers\`, \`processors\`,
\`exporters\` and \`extensions\` map component ids (\`type\` or \`type/name\`) to their
settings, and \`service.pipelines\` wires them: each \`metrics\` or \`metrics/NAME\` pipeline
lists its \`receivers\`, \`processors\` and \`exporters\` by id. Components that no pipeline
uses are not started. Any value may use \`\${VAR}\` or \`\${env:VAR}\`, \`\${env:VAR:-default}\` (for an unset
variable), \`\${file:/path}\` (the file's content) and \`$$\` (a literal \`$\`), as in the Collector; a
value that is one reference alone takes its YAML type. An unset variable without a default is an error.
Unknown keys are errors; every error names its YAML path.

| key | type | default | description |
|---|---|---|---|
| \`service.extensions\` | list of string | \`[]\` | The extensions to start, by id, before the pipelines (stopped after them); extensions defined but not listed are not started. |
| \`service.telemetry.logs.level\` | one of 'debug', 'info', 'warn', 'error' | \`info\` | Lowest level logged (to stderr). |
| \`service.telemetry.logs.encoding\` | one of 'console', 'json' | \`console\` | console: one readable line per entry; json: one JSON object per line (ts, level, msg, component, fields). |
| \`service.telemetry.metrics.level\` | one of 'none', 'basic', 'normal', 'detailed' | \`none\` | The agent's own metrics: none turns them off. |
| \`service.telemetry.metrics.address\` | endpoint (host:port) | \`127.0.0.1:8888\` | host:port serving the agent's own metrics at /metrics. |
| \`service.telemetry.metrics.readers\` | list (optional) |  | The Collector's form of address, one reader: \`[{pull: {exporter: {prometheus: {host: localhost, port: 8888}}}}]\`. Set this or address. |
`;
  const sections = [
    ['receiver', 'Receivers'],
    ['processor', 'Processors'],
    ['exporter', 'Exporters'],
    ['extension', 'Extensions'],
  ] as const;
  for (const [kind, title] of sections) {
    if (registry[kind].length === 0) continue;
    out += `\n## ${title}\n`;
    for (const factory of registry[kind]) {
      const doc = factory.configSchema.doc();
      out += `\n### \`${factory.type}\`\n\n${doc.description ?? ''}\n\n`;
      if (Object.keys(doc.fields ?? {}).length === 0) continue;
      out += '| key | type | default | description |\n|---|---|---|---|\n';
      out += rows(doc.fields ?? {}).join('\n') + '\n';
    }
  }
  return out;
}

/** How docs/metrics.md describes a metric's type. */
function typeOf(m: MetricMetadata): string {
  if (m.sum) return m.sum.monotonic ? 'cumulative monotonic sum' : 'cumulative sum';
  if (m.gauge) return 'gauge';
  return 'histogram';
}

/** The attributes the metrics use, once each by the name the data carry. */
function attributeTable(used: Array<{ meta: ComponentMetadata; metrics: Readonly<Record<string, MetricMetadata>> }>) {
  const seen = new Map<string, AttributeMetadata>();
  for (const { meta, metrics } of used) {
    for (const m of Object.values(metrics)) {
      for (const key of m.attributes) {
        const a = meta.attributes[key]!;
        const name = a.name_override ?? key;
        if (!seen.has(name)) seen.set(name, a);
      }
    }
  }
  return attributeRows([...seen]);
}

function attributeRows(rows: Array<[string, AttributeMetadata]>): string {
  let out = '| attribute | values | description |\n|---|---|---|\n';
  for (const [name, a] of rows) {
    out += `| \`${name}\` | ${a.enum ? a.enum.map((v) => `\`${v}\``).join(', ') : a.type} | ${a.description} |\n`;
  }
  return out;
}

function attributeList(meta: ComponentMetadata, m: MetricMetadata): string {
  return m.attributes.map((key) => `\`${meta.attributes[key]?.name_override ?? key}\``).join(', ');
}

/**
 * docs/metrics.md: the metrics of every component in the registry that has metadata, with
 * the names exporters serve them under, then the agent's own metrics.
 */
export function metricsReference(registry: Registry): string {
  const factories = Object.values(registry).flat();
  const withMetadata = factories.flatMap((f) =>
    f.metadata ? [{ id: `${f.kind} \`${f.type}\``, meta: f.metadata }] : [],
  );
  const columns = factories.flatMap((f) => f.metricNames ?? []);
  const emitted = withMetadata.flatMap(({ meta }) => (meta.metrics ? [{ meta, metrics: meta.metrics }] : []));
  const own = [{ id: 'the service', meta: serviceMetadata as ComponentMetadata }, ...withMetadata].flatMap(
    ({ id, meta }) => (meta.telemetry ? [{ id, meta, metrics: meta.telemetry.metrics }] : []),
  );
  const sources = [...withMetadata.map(({ meta }) => meta.source), serviceMetadata.source];

  let out = `# Metrics reference

Generated by \`npm run docs\` from ${sources.map((s) => `\`${s}\``).join(' and ')}; do not edit by hand.

| metric | unit | type | attributes |${columns.map((c) => ` ${c.title} |`).join('')} description |
|---|---|---|---|${columns.map(() => '---|').join('')}---|
`;
  for (const { meta, metrics } of emitted) {
    for (const [name, m] of Object.entries(metrics)) {
      const names = columns.map((c) => {
        const served = c.name(name, m);
        return ` ${served ? `\`${served}\`` : ''} |`;
      });
      out += `| \`${name}\` | \`${m.unit}\` | ${typeOf(m)} | ${attributeList(meta, m)} |${names.join('')} ${m.description} |\n`;
    }
  }
  for (const c of columns) if (c.note) out += `\n**${c.title}.** ${c.note}\n`;
  out += '\n## Attributes\n\n' + attributeTable(emitted);

  out += `
## The agent's own metrics

Served on \`service.telemetry.metrics\` (a Prometheus endpoint, like the Collector's \`:8888\`),
not sent down the pipelines.

| metric | unit | type | attributes | reported by | description |
|---|---|---|---|---|---|
`;
  for (const { id, meta, metrics } of own) {
    for (const [name, m] of Object.entries(metrics)) {
      out += `| \`${name}\` | ${m.unit ? `\`${m.unit}\`` : ''} | ${typeOf(m)} | ${attributeList(meta, m)} | ${id} | ${m.description} |\n`;
    }
  }
  out += "\n### Attributes of the agent's own metrics\n\n" + attributeTable(own);

  const logs = withMetadata.flatMap(({ id, meta }) => (meta.logs ? [{ id, meta, logs: meta.logs }] : []));
  if (logs.length > 0) out += '\n## Log records\n';
  for (const { id, meta, logs: l } of logs) {
    out += `\nFrom the ${id} in a \`logs\` pipeline. ${l.description}\n\n`;
    out += attributeRows(
      l.attributes.map((key) => [meta.attributes[key]!.name_override ?? key, meta.attributes[key]!]),
    );
  }
  return out;
}
