/**
 * A basic agent does not pay for what its config does not use: run with the embedded
 * otel-config.yaml, it never loads the Kubernetes client, gRPC, the OTLP serializers,
 * the OpenTelemetry metrics SDK (its own metrics, served, have a Meter of their own) or
 * the SDK's resources, core and semantic conventions (its resources are plain ones);
 * given an otlp exporter, it loads gRPC when that exporter starts. The real CLI, with a
 * resolve hook (harness/module_log.mjs) that lists every module it loads.
 */
import { spawn } from 'node:child_process';
import fs from 'node:fs';
import module from 'node:module';
import os from 'node:os';
import path from 'node:path';
import { describe, expect, it } from 'vitest';

import { CLI, ROOT, freePort, isRoot, sleep, writeConfig } from './harness/agent.js';

const HOOK = path.join(ROOT, 'test/integration/harness/module_log.mjs');
const HEAVY = [
  '@kubernetes/client-node',
  '@grpc/grpc-js',
  '@opentelemetry/otlp-transformer',
  '@opentelemetry/sdk-metrics',
  '@opentelemetry/exporter-prometheus',
  '@opentelemetry/resources',
  '@opentelemetry/core',
  '@opentelemetry/semantic-conventions',
];
const hooks = typeof (module as { registerHooks?: unknown }).registerHooks === 'function';

if (!isRoot) console.log('skipping module loading tests: they need root to load eBPF');
else if (!hooks) console.log(`skipping module loading tests: Node ${process.version} has no module.registerHooks`);

/** Runs the agent until it is ready, stops it, and returns the packages it loaded. */
async function loadedPackages(yaml: string): Promise<Set<string>> {
  const log = path.join(fs.mkdtempSync(path.join(os.tmpdir(), 'dropreason-modules-')), 'modules.txt');
  const child = spawn(CLI, ['--config', writeConfig(yaml)], {
    stdio: ['ignore', 'ignore', 'pipe'],
    env: { ...process.env, NODE_OPTIONS: `--import ${HOOK}`, DROPREASON_MODULE_LOG: log },
  });
  let stderr = '';
  child.stderr!.on('data', (d) => (stderr += d));
  const exited = new Promise<number | null>((resolve) => child.on('exit', (code) => resolve(code)));
  const deadline = Date.now() + 90_000;
  while (!stderr.includes('everything is ready')) {
    if (child.exitCode !== null) throw new Error(`agent exited with ${child.exitCode}:\n${stderr}`);
    if (Date.now() > deadline) throw new Error(`agent did not become ready:\n${stderr}`);
    await sleep(50);
  }
  child.kill('SIGTERM');
  expect(await exited, stderr).toBe(0);
  const packages = new Set<string>();
  for (const url of fs.readFileSync(log, 'utf8').split('\n')) {
    const m = /\/node_modules\/((?:@[^/]+\/)?[^/]+)\//.exec(url);
    if (m) packages.add(m[1]!);
    else if (url.includes('/dist/receiver/dropreason/')) packages.add('(the dropreason receiver)');
  }
  return packages;
}

async function embeddedConfig(): Promise<string> {
  const text = fs.readFileSync(path.join(ROOT, 'otel-config.yaml'), 'utf8');
  const replaced = text
    .replaceAll('127.0.0.1:9464', `127.0.0.1:${await freePort()}`)
    .replaceAll('127.0.0.1:8888', `127.0.0.1:${await freePort()}`);
  expect(replaced).not.toMatch(/:9464|:8888/);
  return replaced;
}

describe.skipIf(!isRoot || !hooks)('modules loaded by the config', () => {
  it('the embedded config loads neither the Kubernetes client, nor gRPC, nor the OTLP serializers, nor the SDK', async () => {
    const packages = await loadedPackages(await embeddedConfig());
    // The hook sees what the agent loads: its config parser and its receiver.
    expect(packages).toContain('yaml');
    expect(packages).toContain('(the dropreason receiver)');
    for (const heavy of HEAVY) expect(packages, heavy).not.toContain(heavy);
  });

  it('an otlp exporter loads gRPC when it starts', async () => {
    const port = await freePort();
    const yaml = (await embeddedConfig())
      .replace('exporters:\n', `exporters:\n  otlp:\n    endpoint: 127.0.0.1:${port}\n    tls:\n      insecure: true\n`)
      .replace('exporters: [prometheus, debug]', 'exporters: [prometheus, otlp]');
    const packages = await loadedPackages(yaml);
    expect(packages).toContain('@grpc/grpc-js');
    expect(packages).not.toContain('@kubernetes/client-node');
  });
});
