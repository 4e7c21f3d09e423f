// Writes metadata.generated.ts beside every src/**/metadata.yaml: the component's metrics,
// attributes and own telemetry as typed constants, so the code spells no metric name and
// reads no YAML at run time. Run by `npm run build:gen` (setup.sh, `npm run docs`);
// `--check` writes nothing and fails if a generated file is not what its YAML makes.
import fs from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import * as prettier from 'prettier';
import { parse } from 'yaml';

const ROOT = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..');
const KINDS = ['sum', 'gauge', 'histogram'];

function sources(dir) {
  return fs.readdirSync(dir, { withFileTypes: true }).flatMap((e) => {
    const p = path.join(dir, e.name);
    if (e.isDirectory()) return sources(p);
    return e.name === 'metadata.yaml' ? [p] : [];
  });
}

/** Every mistake in one file, each with its YAML path. */
function check(meta) {
  const errors = [];
  if (typeof meta.type !== 'string') errors.push(`type: must be a string, but was ${JSON.stringify(meta.type)}`);
  const attributes = meta.attributes ?? {};
  for (const [key, a] of Object.entries(attributes)) {
    if (typeof a.description !== 'string') errors.push(`attributes.${key}.description: must be a string`);
    if (!['string', 'int', 'double', 'bool'].includes(a.type))
      errors.push(`attributes.${key}.type: must be string, int, double or bool, but was ${JSON.stringify(a.type)}`);
  }
  const metricSets = [
    ['metrics', meta.metrics],
    ['telemetry.metrics', meta.telemetry?.metrics],
  ];
  for (const [where, metrics] of metricSets) {
    for (const [name, m] of Object.entries(metrics ?? {})) {
      const at = `${where}.${name}`;
      if (typeof m.description !== 'string') errors.push(`${at}.description: must be a string`);
      const kinds = KINDS.filter((k) => m[k] !== undefined);
      if (kinds.length !== 1) errors.push(`${at}: must have exactly one of ${KINDS.join(', ')}, but has ${kinds}`);
      else if (!['int', 'double'].includes(m[kinds[0]].value_type))
        errors.push(`${at}.${kinds[0]}.value_type: must be int or double`);
      for (const a of m.attributes ?? []) {
        if (!attributes[a]) errors.push(`${at}.attributes: ${a} is not defined under attributes`);
      }
    }
  }
  if (meta.logs !== undefined) {
    if (typeof meta.logs.description !== 'string') errors.push('logs.description: must be a string');
    if (!Array.isArray(meta.logs.attributes)) errors.push('logs.attributes: must be a list');
    for (const a of meta.logs.attributes ?? []) {
      if (!attributes[a]) errors.push(`logs.attributes: ${a} is not defined under attributes`);
    }
  }
  return errors;
}

/** dropreason.pod.drop.count → POD_DROP_COUNT: the constant a metric name is exported as. */
function constantName(metric) {
  return metric
    .replace(/^dropreason\./, '')
    .replace(/[^a-zA-Z0-9]+/g, '_')
    .toUpperCase();
}

function normalize(metrics) {
  return Object.fromEntries(
    Object.entries(metrics ?? {}).map(([name, m]) => [
      name,
      { description: m.description, unit: m.unit ?? '', ...m, attributes: m.attributes ?? [] },
    ]),
  );
}

async function generate(file) {
  const rel = path.relative(ROOT, file);
  const meta = parse(fs.readFileSync(file, 'utf8'));
  const errors = check(meta);
  if (errors.length) throw new Error(`${rel}:\n  ${errors.join('\n  ')}`);
  const metrics = normalize(meta.metrics);
  const telemetry = normalize(meta.telemetry?.metrics);
  const out = {
    type: meta.type,
    source: rel,
    attributes: meta.attributes ?? {},
    ...(meta.metrics ? { metrics } : {}),
    ...(meta.telemetry ? { telemetry: { metrics: telemetry } } : {}),
    ...(meta.logs ? { logs: meta.logs } : {}),
  };
  const servicePath = path.relative(path.dirname(file), path.join(ROOT, 'src/service/metadata.js'));
  const importPath = servicePath.startsWith('.') ? servicePath : `./${servicePath}`;
  const names = [...Object.keys(metrics), ...Object.keys(telemetry)];
  const text = [
    `// Generated from ${path.basename(file)} by scripts/gen-metadata.mjs (npm run build:gen); do not edit.`,
    `import type { ComponentMetadata } from '${importPath}';`,
    '',
    ...names.map((n) => `export const ${constantName(n)} = ${JSON.stringify(n)};`),
    '',
    `export const metadata = ${JSON.stringify(out, null, 2)} as const satisfies ComponentMetadata;`,
    '',
  ].join('\n');
  const target = path.join(path.dirname(file), 'metadata.generated.ts');
  const options = { ...(await prettier.resolveConfig(target)), filepath: target };
  return { target, text: await prettier.format(text, options) };
}

const checkOnly = process.argv.includes('--check');
let stale = 0;
for (const file of sources(path.join(ROOT, 'src'))) {
  const { target, text } = await generate(file);
  const current = fs.existsSync(target) ? fs.readFileSync(target, 'utf8') : undefined;
  if (current === text) continue;
  if (checkOnly) {
    console.error(
      `${path.relative(ROOT, target)} is not what ${path.relative(ROOT, file)} makes: run npm run build:gen`,
    );
    stale++;
  } else {
    fs.writeFileSync(target, text);
  }
}
if (stale) process.exit(1);
