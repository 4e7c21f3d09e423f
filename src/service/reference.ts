/**
 * Generates docs/configuration.md from the component schemas and docs/metrics.md from the
 * receivers' metadata.yaml, so the documentation cannot drift from the code.
 */
import { metadata } from '../receiver/dropreason/metadata.js';
import type { Registry } from './config.js';
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
uses are not started. Any string may use \`\${env:VAR}\` or \`\${env:VAR:-default}\`.
Unknown keys are errors; every error names its YAML path.

| key | type | default | description |
|---|---|---|---|
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

export function metricsReference(): string {
  const meta = metadata() as ReturnType<typeof metadata> & {
    attributes: Record<string, { description: string; enum?: string[] }>;
  };
  let out = `# Metrics reference

Generated from \`src/receiver/dropreason/metadata.yaml\` by \`npm run docs\`; do not edit by hand.

| metric | unit | type | attributes | Prometheus name | Retina name | description |
|---|---|---|---|---|---|---|
`;
  for (const [name, m] of Object.entries(meta.metrics)) {
    out += `| \`${name}\` | \`${m.unit}\` | cumulative monotonic sum | ${m.attributes.map((a) => `\`${a}\``).join(', ')} | \`${m.prometheus}\` | \`${m.retina}\` | ${m.description} |\n`;
  }
  out += '\n## Attributes\n\n| attribute | values | description |\n|---|---|---|\n';
  for (const [name, a] of Object.entries(meta.attributes)) {
    out += `| \`${name}\` | ${a.enum ? a.enum.map((v) => `\`${v}\``).join(', ') : 'string'} | ${a.description} |\n`;
  }
  return out;
}
