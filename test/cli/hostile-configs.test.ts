/**
 * Malformed and hostile config files through the real CLI, in run mode: every one must be
 * rejected with exit code 2 and a message naming where the problem is, without a crash
 * (no stack trace), a hang, or anything started.
 */
import { spawn } from 'node:child_process';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { afterAll, describe, expect, it } from 'vitest';
import { stringify } from 'yaml';

const ROOT = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '../..');
const CLI = path.join(ROOT, 'bin/dropreason');
const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'dropreason-hostile-'));

type Config = Record<string, unknown>;

function base(): Config {
  return {
    receivers: { dropreason: { collection_interval: '10s' } },
    exporters: { prometheus: { endpoint: '127.0.0.1:19999' }, debug: {} },
    service: { pipelines: { metrics: { receivers: ['dropreason'], exporters: ['prometheus', 'debug'] } } },
  };
}

/** A copy of the base config with `value` at `keyPath` (undefined deletes the key). */
function withValue(keyPath: string, value: unknown): Config {
  const config = base();
  const keys = keyPath.split('.');
  let node = config as Record<string, unknown>;
  for (const k of keys.slice(0, -1)) {
    if (typeof node[k] !== 'object' || node[k] === null) node[k] = {};
    node = node[k] as Record<string, unknown>;
  }
  if (value === undefined) delete node[keys.at(-1)!];
  else node[keys.at(-1)!] = value;
  return config;
}

interface Case {
  name: string;
  text: string;
  /** A string the error output must contain: the YAML path, or what is wrong. */
  expect: string;
}

const cases: Case[] = [];
const add = (name: string, config: Config | string, expectText: string) =>
  cases.push({ name, text: typeof config === 'string' ? config : stringify(config), expect: expectText });

// Wrong values for every receiver key.
const R = 'receivers.dropreason';
for (const v of [
  5,
  true,
  [],
  {},
  '10',
  '-1s',
  '0s',
  '50ms',
  '1000000h',
  '',
  'ten seconds',
  '1.5.3s',
  null as unknown,
]) {
  if (v === null) continue;
  add(`collection_interval ${JSON.stringify(v)}`, withValue(`${R}.collection_interval`, v), `${R}.collection_interval`);
}
for (const v of ['NO_SOCKET', 5, [1], [{}], [''], [null], { a: 1 }]) {
  add(`exclude_reasons ${JSON.stringify(v)}`, withValue(`${R}.exclude_reasons`, v), `${R}.exclude_reasons`);
}
add(
  'exclude_reasons, too many',
  withValue(
    `${R}.exclude_reasons`,
    Array.from({ length: 5000 }, (_, i) => `R${i}`),
  ),
  'at most 1024',
);
for (const v of ['kprobe', 1, [], 'TP_BTF']) add(`hook ${JSON.stringify(v)}`, withValue(`${R}.hook`, v), `${R}.hook`);
for (const v of [5, '', [], {}]) add(`btf_path ${JSON.stringify(v)}`, withValue(`${R}.btf_path`, v), `${R}.btf_path`);
for (const v of [5, '', ['a']]) add(`netns ${JSON.stringify(v)}`, withValue(`${R}.netns`, v), `${R}.netns`);
for (const key of ['samples_per_second', 'samples_per_reason_per_second']) {
  for (const v of [-1, 'many', 1e9]) add(`${key} ${JSON.stringify(v)}`, withValue(`${R}.${key}`, v), `${R}.${key}`);
}
for (const v of ['yes', 1]) add(`location ${JSON.stringify(v)}`, withValue(`${R}.location`, v), `${R}.location`);
add('receiver settings are a list', withValue(R, ['collection_interval']), R);
add('receiver settings are a string', withValue(R, 'fast'), R);
add('unknown receiver key', withValue(`${R}.interval`, '10s'), `${R}.interval: unknown key; accepted keys are`);

// Exporters.
const P = 'exporters.prometheus';
for (const v of [
  'abc',
  ':0',
  '1.2.3.4:70000',
  9464,
  'localhost',
  '[::1]',
  'host:port',
  '',
  'a:b:c:1',
  '127.0.0.1:-1',
  '127.0.0.1:99999999',
]) {
  add(`prometheus endpoint ${JSON.stringify(v)}`, withValue(`${P}.endpoint`, v), `${P}.endpoint`);
}
for (const v of [5, '']) add(`namespace ${JSON.stringify(v)}`, withValue(`${P}.namespace`, v), `${P}.namespace`);
for (const v of ['prom', 'RETINA', 1]) add(`naming ${JSON.stringify(v)}`, withValue(`${P}.naming`, v), `${P}.naming`);
for (const v of ['x', ['a'], { '1bad': 'v' }, { 'a-b': 'v' }, { a: {} }, { a: [1] }]) {
  add(`const_labels ${JSON.stringify(v)}`, withValue(`${P}.const_labels`, v), `${P}.const_labels`);
}
for (const v of ['forever', '1ms', 5, '-5m']) {
  add(`metric_expiration ${JSON.stringify(v)}`, withValue(`${P}.metric_expiration`, v), `${P}.metric_expiration`);
}
for (const [key, v] of [
  ['send_timestamps', 'yes'],
  ['enable_open_metrics', 1],
  ['add_metric_suffixes', []],
  ['resource_to_telemetry_conversion', true],
  ['resource_to_telemetry_conversion', { enabled: 'on' }],
  ['tls', 'on'],
  ['tls', {}],
  ['tls', { cert_file: 'a', key_file: 'b', min_version: '1.4' }],
  ['tls', { cert_file: 'a', key_file: 'b', reload_interval: '1h' }],
] as const) {
  add(`prometheus ${key} ${JSON.stringify(v)}`, withValue(`${P}.${key}`, v), `${P}.${key}`);
}
add('unknown prometheus key', withValue(`${P}.port`, 9464), `${P}.port: unknown key`);
for (const v of ['loud', 3, true])
  add(`debug verbosity ${JSON.stringify(v)}`, withValue('exporters.debug.verbosity', v), 'exporters.debug.verbosity');

// The k8sattributes processor's Collector keys, in a pipeline, without a cluster.
const K = 'processors.k8sattributes';
function withProcessor(keyPath: string, value: unknown): Config {
  const config = withValue(`${K}.auth_type`, 'none');
  const pipeline = (config['service'] as Config)['pipelines'] as Record<string, Config>;
  pipeline['metrics']!['processors'] = ['k8sattributes'];
  const keys = keyPath.split('.');
  let node = (config['processors'] as Config)['k8sattributes'] as Record<string, unknown>;
  for (const k of keys.slice(0, -1)) {
    if (typeof node[k] !== 'object' || node[k] === null) node[k] = {};
    node = node[k] as Record<string, unknown>;
  }
  node[keys.at(-1)!] = value;
  return config;
}
for (const [key, value, expectText] of [
  ['passthrough', 'yes', `${K}.passthrough`],
  ['filter.namespace', ['a'], `${K}.filter.namespace`],
  ['filter.labels', [{ key: 'app', op: 'in', value: 'x' }], `${K}.filter.labels[0].op`],
  ['filter.labels', [{ key: 'app' }], `${K}.filter.labels[0].value: is required with op equals`],
  ['filter.fields', [{ key: 'status.phase', op: 'exists' }], `${K}.filter.fields[0].op`],
  ['filter.fields', 'status.phase=Running', `${K}.filter.fields: must be a list`],
  ['extract.metadata', ['container.id'], 'no container to name'],
  ['extract.metadata', ['k8s.cluster.name'], `${K}.extract.metadata[0]: must be one of`],
  ['extract.labels', [{ key: 'a', key_regex: 'a.*' }], 'give key or key_regex, exactly one'],
  ['extract.labels', [{ key_regex: '(' }], `${K}.extract.labels[0].key_regex: must be a regular expression`],
  ['extract.annotations', [{ key: 'a', from: 'cluster' }], 'from: must be one of pod, namespace, node'],
  ['extract.labels', [{ key: 'a', from: 'Node' }], 'from: must be one of pod, namespace, node'],
  ['extract.otel_annotations', 'on', `${K}.extract.otel_annotations`],
  ['exclude.pods', [{ name: '[' }], `${K}.exclude.pods[0].name: must be a regular expression`],
  ['exclude.pods', ['jaeger-agent'], `${K}.exclude.pods[0]: must be a map`],
] as Array<[string, unknown, string]>) {
  add(`k8sattributes ${key} ${JSON.stringify(value)}`, withProcessor(key, value), expectText);
}

// Unknown components and bad ids.
add('unknown receiver type', withValue('receivers.hostmetrics', {}), "unknown receiver type 'hostmetrics'");
add('unknown exporter type', withValue('exporters.kafka', {}), "unknown exporter type 'kafka'");
add('unknown processor type', withValue('processors.transform', {}), "unknown processor type 'transform'");
add('unknown extension type', withValue('extensions.zpages', {}), "unknown extension type 'zpages'");
// The health_check extension.
const HC = 'extensions.health_check';
for (const [key, v] of [
  ['endpoint', 'localhost'],
  ['endpoint', 13133],
  ['endpoint', 'localhost:0'],
  ['endpoint', 'localhost:70000'],
  ['path', 'health'],
  ['path', ''],
  ['path', 5],
  ['response_body', 'ok'],
  ['response_body.healthy', 1],
  ['response_body.ready', 'yes'],
  ['check_collector_pipeline', true],
  ['check_collector_pipeline.interval', 'often'],
  ['check_collector_pipeline.exporter_failure_threshold', -1],
  ['tls', 'on'],
  ['tls.cert_file', 5],
  ['tls.min_version', '1.4'],
  ['healthcheck_path', '/'],
] as const) {
  add(`health_check ${key}=${JSON.stringify(v)}`, withValue(`${HC}.${key}`, v), `${HC}.${key}`);
}
add(
  'service extension listed twice',
  {
    ...withValue(HC, {}),
    service: { ...(base().service as Config), extensions: ['health_check', 'health_check'] },
  },
  "service.extensions[1]: 'health_check' is listed twice",
);
add(
  'service extension of another name',
  {
    ...withValue(HC, {}),
    service: { ...(base().service as Config), extensions: ['health_check/other'] },
  },
  "service.extensions[0]: references extension 'health_check/other', which is not configured under extensions; configured: health_check",
);
// Processors.
const B = 'processors.batch';
for (const [key, v] of [
  ['timeout', 5],
  ['timeout', '-1s'],
  ['send_batch_size', -1],
  ['send_batch_size', 'lots'],
  ['send_batch_max_size', 1.5],
  ['metadata_keys', 'tenant'],
  ['metadata_keys', ['tenant']],
  ['metadata_cardinality_limit', {}],
] as const) {
  add(`batch ${key} ${JSON.stringify(v)}`, withValue(`${B}.${key}`, v), `${B}.${key}`);
}
add('batch max below size', withValue(B, { send_batch_size: 10, send_batch_max_size: 5 }), `${B}.send_batch_max_size`);
const L = 'processors.memory_limiter';
add('memory_limiter without check_interval', withValue(L, { limit_mib: 100 }), `${L}.check_interval`);
add('memory_limiter without a limit', withValue(L, { check_interval: '1s' }), `${L}.limit_mib`);
for (const [key, v] of [
  ['limit_mib', -5],
  ['limit_mib', '1GiB'],
  ['spike_limit_mib', 100],
  ['limit_percentage', 101],
  ['spike_limit_percentage', 'half'],
] as const) {
  add(
    `memory_limiter ${key} ${JSON.stringify(v)}`,
    withValue(L, { check_interval: '1s', limit_mib: 100, [key]: v }),
    `${L}.${key}`,
  );
}
const RP = 'processors.resource';
for (const v of [
  undefined,
  [],
  'k8s.cluster.name',
  [{}],
  [{ key: 'a', action: 'rename' }],
  [{ key: 'a', action: 'insert' }],
  [{ key: 'a', action: 'extract', pattern: '((' }],
  [{ key: 'a', action: 'insert', value: {} }],
]) {
  add(`resource attributes ${JSON.stringify(v)}`, withValue(RP, { attributes: v }), `${RP}.attributes`);
}
add(
  'resource from_context',
  withValue(RP, { attributes: [{ key: 'a', from_context: 'metadata.x', action: 'insert' }] }),
  `${RP}.attributes[0].from_context: is not supported`,
);

for (const id of ['Dropreason', 'dropreason/', '/x', 'drop reason', '1abc', '']) {
  add(`bad component id ${JSON.stringify(id)}`, withValue(`receivers.${id}`, {}), 'is not a component id');
}
add('receivers is a list', withValue('receivers', ['dropreason']), 'receivers: must be a map');
add('exporters is a string', withValue('exporters', 'prometheus'), 'exporters: must be a map');

// Pipelines.
const M = 'service.pipelines.metrics';
add('no service', withValue('service', undefined), 'service: is required');
add('service is a list', withValue('service', []), 'service: is required');
add('no pipelines', withValue('service.pipelines', undefined), 'service.pipelines: must define at least one pipeline');
add('empty pipelines', withValue('service.pipelines', {}), 'service.pipelines: must define at least one pipeline');
add(
  'a traces pipeline',
  withValue('service.pipelines.traces', { receivers: ['dropreason'], exporters: ['debug'] }),
  "unsupported pipeline 'traces'",
);
add(
  'a logs pipeline to an exporter of metrics only',
  withValue('service.pipelines.logs/x', { receivers: ['dropreason'], exporters: ['prometheus'] }),
  "exporter 'prometheus' takes metrics only, so it cannot be in a logs pipeline",
);
add('pipeline without receivers', withValue(`${M}.receivers`, undefined), `${M}.receivers: must be a list`);
add('pipeline without exporters', withValue(`${M}.exporters`, undefined), `${M}.exporters: must be a list`);
add('pipeline with no receivers', withValue(`${M}.receivers`, []), `${M}.receivers: must list at least one receiver`);
add('pipeline with no exporters', withValue(`${M}.exporters`, []), `${M}.exporters: must list at least one exporter`);
add(
  'dangling receiver',
  withValue(`${M}.receivers`, ['dropreason/other']),
  `${M}.receivers[0]: references receiver 'dropreason/other'`,
);
add(
  'dangling exporter',
  withValue(`${M}.exporters`, ['prometheus', 'otlp']),
  `${M}.exporters[1]: references exporter 'otlp'`,
);
add('dangling processor', withValue(`${M}.processors`, ['batch']), `${M}.processors[0]: references processor 'batch'`);
add('exporter listed twice', withValue(`${M}.exporters`, ['debug', 'debug']), "'debug' is listed twice");
add('receivers as a string', withValue(`${M}.receivers`, 'dropreason'), `${M}.receivers: must be a list`);
add('pipeline is null', withValue(M, null), `${M}.receivers`);
add('pipeline is a list', withValue(M, ['dropreason']), `${M}: must be a map`);
add('unknown pipeline key', withValue(`${M}.connectors`, []), `${M}.connectors: unknown key`);
add('unknown service key', withValue('service.pipeline', {}), 'service.pipeline: unknown key');
add(
  'service extension not configured',
  withValue('service.extensions', ['health_check']),
  "references extension 'health_check'",
);
add('telemetry logs level', withValue('service.telemetry.logs.level', 'verbose'), 'service.telemetry.logs.level');
add('telemetry metrics level', withValue('service.telemetry.metrics.level', 'all'), 'service.telemetry.metrics.level');
add(
  'telemetry metrics address',
  withValue('service.telemetry.metrics.address', 'x'),
  'service.telemetry.metrics.address',
);
add(
  'telemetry logs encoding',
  withValue('service.telemetry.logs.encoding', 'logfmt'),
  'service.telemetry.logs.encoding',
);
for (const v of [
  'x',
  [{ pull: { exporter: { otlp: {} } } }],
  [{ pull: { exporter: { prometheus: { port: 'high' } } } }],
]) {
  add(
    `telemetry readers ${JSON.stringify(v)}`,
    withValue('service.telemetry.metrics.readers', v),
    'service.telemetry.metrics.readers',
  );
}
add('telemetry unknown key', withValue('service.telemetry.traces', {}), 'service.telemetry.traces: unknown key');

// The file as a whole.
add('unknown top-level key', withValue('receiver', {}), 'receiver: unknown key; accepted keys are');
add('a list', '- receivers\n- exporters\n', 'the config must be a map');
add('a scalar', 'dropreason\n', 'the config must be a map');
add('empty file', '', 'the config must be a map');
add('only comments', '# nothing here\n', 'the config must be a map');
add('unclosed bracket', 'receivers:\n  dropreason: [\n', 'YAML error at line');
add('tab indentation', 'receivers:\n\tdropreason: {}\n', 'YAML error at line');
add('duplicate keys', 'receivers:\n  dropreason: {}\n  dropreason: {}\n', 'YAML error at line');
add('bad indentation', 'receivers:\n  dropreason:\n collection_interval: 10s\n', 'YAML error at line');
add('binary junk', '\u0000\u0001\u0002\u00ff{{{', 'the config must be a map');
add('unterminated string', 'receivers: "dropreason\n', 'YAML error at line');
add('a second document', `${stringify(base())}---\nfoo: 1\n`, 'YAML error');
add(
  'alias bomb',
  `a: &a ["x","x","x","x","x","x","x","x","x","x"]\nb: &b [*a,*a,*a,*a,*a,*a,*a,*a,*a,*a]\nc: &c [*b,*b,*b,*b,*b,*b,*b,*b,*b,*b]\nd: &d [*c,*c,*c,*c,*c,*c,*c,*c,*c,*c]\ne: &e [*d,*d,*d,*d,*d,*d,*d,*d,*d,*d]\nf: &f [*e,*e,*e,*e,*e,*e,*e,*e,*e,*e]\n`,
  'YAML error',
);
add(
  'deep nesting',
  `receivers:\n  dropreason:\n    netns: ${'['.repeat(5000)}${']'.repeat(5000)}\n`,
  'YAML error at line 3',
);
add('a huge key', withValue(`receivers.dropreason.${'k'.repeat(100_000)}`, 1), 'unknown key');
add('a huge string', withValue(`${R}.collection_interval`, 's'.repeat(1_000_000)), `${R}.collection_interval`);
add(
  'a huge list of exporters',
  withValue(
    `${M}.exporters`,
    Array.from({ length: 20_000 }, (_, i) => `debug/${i}`),
  ),
  'at most 10000 items',
);

// Environment references.
add(
  'unset variable',
  withValue(`${R}.collection_interval`, '${env:DROPREASON_TEST_UNSET}'),
  'DROPREASON_TEST_UNSET is not set',
);
add('an unsupported scheme', withValue(`${R}.collection_interval`, '${vault:foo}'), 'cannot expand ${vault:foo}');
add('a URL as a reference', withValue(`${R}.collection_interval`, '${https://x/y}'), "the scheme 'https'");
add('an escaped reference stays as written', withValue(`${R}.collection_interval`, '$${env:HOME}'), '"${env:HOME}"');
add('a file that never ends', withValue(`${R}.collection_interval`, '${file:/dev/zero}'), 'not a regular file');
add('a directory as a file', withValue(`${R}.collection_interval`, '${file:/}'), 'not a regular file');
add('a missing file', withValue(`${R}.collection_interval`, '${file:/nonexistent/x}'), 'ENOENT');
add('a file reference without a file', withValue(`${R}.collection_interval`, '${file:}'), 'name a file');
add('empty env name', withValue(`${R}.collection_interval`, '${env:}'), 'cannot expand ${env:}');
add('bad env name', withValue(`${R}.collection_interval`, '${env:1BAD}'), 'cannot expand ${env:1BAD}');
add(
  'env default that is still wrong',
  withValue(`${R}.collection_interval`, '${env:DROPREASON_TEST_UNSET:-soon}'),
  `${R}.collection_interval`,
);
add('env in an endpoint, wrong', withValue(`${P}.endpoint`, '${env:DROPREASON_TEST_UNSET:-nowhere}'), `${P}.endpoint`);

// The otlp exporter's keys (the Collector's otlpexporter set).
const O = 'exporters.otlp';
for (const v of [
  5,
  '',
  'https://',
  'ftp://x:1',
  'dns:///x',
  'unix://',
  'x:99999',
  ':4317',
  '[::1',
  'a b:1',
  'http://x:1/v1',
]) {
  add(`otlp endpoint ${JSON.stringify(v)}`, withValue(`${O}.endpoint`, v), `${O}.endpoint`);
}
for (const v of ['zstd', 'snappy', 'lz4', 'deflate', 'zlib', 'GZIP', 5]) {
  add(`otlp compression ${JSON.stringify(v)}`, withValue(`${O}.compression`, v), `${O}.compression`);
}
for (const [key, v] of [
  ['keepalive.time', 'often'],
  ['keepalive', 'on'],
  ['balancer_name', 'grpclb'],
  ['authority', ''],
  ['wait_for_ready', 'yes'],
  ['write_buffer_size', -1],
  ['auth', { authenticator: 'bearertokenauth' }],
  ['middlewares', []],
  ['retry_on_failure.multiplier', 0],
  ['retry_on_failure.multiplier', 'x'],
  ['retry_on_failure.randomization_factor', -1],
  ['sending_queue.storage', 'file_storage'],
  ['sending_queue.sizer', 'bytes'],
  ['sending_queue.block_on_overflow', true],
  ['sending_queue.blocking', true],
  ['sending_queue.batch', {}],
  ['sending_queue.queue_size', -1],
  ['sending_queue.num_consumers', 0],
  ['tls.min_version', '1.4'],
  ['tls.max_version', 'TLS1.3'],
  ['tls.ca_pem', 5],
  ['tls.reload_interval', 'hourly'],
  ['tls.cipher_suites', ['TLS_AES_128_GCM_SHA256']],
  ['tls.curve_preferences', ['X25519']],
  ['headers', { 'x-token': 'a\nb' }],
] as const) {
  add(`otlp ${key} ${JSON.stringify(v)}`, withValue(`${O}.${key}`, v), `${O}.${key}`);
}

// The otlphttp exporter's keys (the Collector's otlphttpexporter set).
const H = 'exporters.otlphttp';
add('otlphttp without an endpoint', withValue(H, {}), `${H}.endpoint: is required`);
for (const [key, v] of [
  ['endpoint', 'localhost:4318'],
  ['endpoint', 'ftp://x'],
  ['endpoint', 'http://'],
  ['endpoint', 5],
  ['metrics_endpoint', 'x'],
  ['encoding', 'protobuf'],
  ['compression', 'snappy'],
  ['compression', 'lz4'],
  ['timeout', '0s'],
  ['proxy_url', 'http://proxy:3128'],
  ['auth', { authenticator: 'oauth2client' }],
  ['headers', { 'a b': 1 }],
  ['headers', { 'x-token': 'a\r\nInjected: yes' }],
  ['sending_queue.storage', 'file_storage'],
  ['tls.ca_file', ''],
] as const) {
  const config = withValue(`${H}.${key}`, v);
  if (key !== 'endpoint')
    (config['exporters'] as Config)['otlphttp'] = {
      endpoint: 'http://x:4318',
      ...((config['exporters'] as Config)['otlphttp'] as Config),
    };
  add(`otlphttp ${key} ${JSON.stringify(v)}`, config, `${H}.${key}`);
}

/** The environment without DROPREASON_TEST_UNSET, whatever the caller's has. */
const withoutTestVariable = Object.fromEntries(
  Object.entries(process.env).filter(([k]) => k !== 'DROPREASON_TEST_UNSET'),
);

function run(file: string): Promise<{ code: number | null; stdout: string; stderr: string; ms: number }> {
  const start = Date.now();
  return new Promise((resolve) => {
    const child = spawn(CLI, ['--config', file], {
      stdio: ['ignore', 'pipe', 'pipe'],
      env: withoutTestVariable,
    });
    let stdout = '';
    let stderr = '';
    child.stdout.on('data', (d) => (stdout += d));
    child.stderr.on('data', (d) => (stderr += d));
    const timer = setTimeout(() => child.kill('SIGKILL'), 60_000);
    // 'close', not 'exit': a long error may still be in the pipe when the process has exited.
    child.on('close', (code) => {
      clearTimeout(timer);
      resolve({ code, stdout, stderr, ms: Date.now() - start });
    });
  });
}

describe('hostile config files', () => {
  afterAll(() => fs.rmSync(dir, { recursive: true, force: true }));

  it('has at least 100 of them', () => {
    expect(cases.length).toBeGreaterThanOrEqual(100);
  });

  // Each case is its own process: run a few at once.
  for (const [i, c] of cases.entries()) {
    it.concurrent(`rejects ${c.name}`, { timeout: 120_000 }, async ({ expect }) => {
      const file = path.join(dir, `case-${i}.yaml`);
      fs.writeFileSync(file, c.text);
      const r = await run(file);
      expect(r.code, r.stderr).toBe(2);
      expect(r.stderr).toContain(c.expect);
      expect(r.stderr).toMatch(/^dropreason: invalid configuration in /);
      expect(r.stderr).not.toMatch(/\n\s+at /); // no stack trace
      expect(r.stderr).not.toContain('service: starting');
      expect(r.stdout).toBe('');
    });
  }
});
