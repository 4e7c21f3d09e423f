/**
 * The health_check extension in the real CLI: once the agent is ready its endpoint answers
 * 200 with the Collector's JSON status (the receiver has read its maps), and after SIGTERM
 * nothing listens there any more; an agent whose receiver cannot start leaves nothing
 * listening either. While a pipeline is still starting (a k8sattributes processor waiting
 * for its first list of pods from an API server that has not answered yet) it answers 503
 * with that reason, and 200 once the API answers and everything has started.
 */
import { type ChildProcess, spawn } from 'node:child_process';
import { describe, expect, it, onTestFinished } from 'vitest';

import { FakeApiServer } from '../k8s/fake_api_server.js';
import { Agent, basicConfig, CLI, freePort, isRoot, runCli, sleep, writeConfig } from './harness/agent.js';

if (!isRoot) console.log('skipping health_check tests: they need root to load eBPF');

function withHealthCheck(metricsPort: number, healthPort: number, netns?: string): string {
  return (
    `extensions:\n  health_check:\n    endpoint: 127.0.0.1:${healthPort}\n    path: /health/status\n` +
    basicConfig(metricsPort, { netns }).replace('service:\n', 'service:\n  extensions: [health_check]\n')
  );
}

/** Waits until the output holds `text`, or the process exits, or a generous deadline passes. */
async function untilOutput(child: ChildProcess, output: () => string, text: string): Promise<void> {
  const deadline = Date.now() + 90_000;
  while (!output().includes(text)) {
    if (child.exitCode !== null) throw new Error(`agent exited with ${child.exitCode}:\n${output()}`);
    if (Date.now() > deadline) throw new Error(`no "${text}" in the agent's output:\n${output()}`);
    await sleep(50);
  }
}

describe.skipIf(!isRoot)('health_check extension', () => {
  it('answers 503 with the reason while a pipeline is starting, and 200 once everything has started', async () => {
    const api = await FakeApiServer.start();
    onTestFinished(() => api.close());
    api.addPod({ name: 'web-1', namespace: 'shop', node: 'node-a', ips: ['10.9.0.1'] });
    // The API server takes requests but answers none until released.
    const release = api.holdRequests(() => true);
    const healthPort = await freePort();
    const metricsPort = await freePort();
    const yaml =
      `extensions:\n  health_check:\n    endpoint: 127.0.0.1:${healthPort}\n` +
      `processors:\n  k8sattributes:\n    auth_type: kubeConfig\n    kube_config_path: ${api.kubeconfigPath}\n` +
      `    filter:\n      node: node-a\n    wait_for_metadata: true\n    wait_for_metadata_timeout: 10m\n` +
      basicConfig(metricsPort)
        .replace('service:\n', 'service:\n  extensions: [health_check]\n')
        .replace(
          '      receivers: [dropreason]\n',
          '      receivers: [dropreason]\n      processors: [k8sattributes]\n',
        );
    const proc = spawn(CLI, ['--config', writeConfig(yaml)], { stdio: ['ignore', 'ignore', 'pipe'] });
    onTestFinished(async () => {
      if (proc.exitCode !== null) return;
      const exited = new Promise((resolve) => proc.once('exit', resolve));
      proc.kill('SIGKILL');
      await exited;
    });
    let stderr = '';
    proc.stderr!.on('data', (d) => (stderr += d));
    // The extension starts first; the processor then waits for its first list of pods.
    await untilOutput(proc, () => stderr, 'serving health checks');
    await untilOutput(proc, () => stderr, 'watching the Kubernetes API');
    // The pod list is asked for (after the owners' head start) and left unanswered.
    const deadline = Date.now() + 90_000;
    while (!api.requests.some((r) => r.path === '/api/v1/pods') && Date.now() < deadline) await sleep(50);
    const url = `http://127.0.0.1:${healthPort}/`;
    const starting = await fetch(url);
    expect(starting.status).toBe(503);
    const body = (await starting.json()) as Record<string, unknown>;
    expect(body).toMatchObject({ status: 'Server not available', reason: 'the pipelines are starting' });
    expect(stderr).not.toContain('everything is ready');

    release();
    await untilOutput(proc, () => stderr, 'everything is ready');
    const ready = await fetch(url);
    expect(ready.status).toBe(200);
    expect(await ready.json()).toMatchObject({ status: 'Server available' });
  }, 180_000);

  it('answers 200 with the JSON status once ready, and is gone after SIGTERM', async () => {
    const healthPort = await freePort();
    const metricsPort = await freePort();
    const agent = await Agent.startForTest(withHealthCheck(metricsPort, healthPort), metricsPort);
    const url = `http://127.0.0.1:${healthPort}/health/status`;
    const res = await fetch(url);
    const body = (await res.json()) as Record<string, unknown>;
    expect(res.status).toBe(200);
    expect(res.headers.get('content-type')).toBe('application/json');
    expect(Object.keys(body)).toEqual(['status', 'upSince', 'uptime']);
    expect(body['status']).toBe('Server available');
    expect(Date.parse(body['upSince'] as string)).toBeLessThanOrEqual(Date.now());
    expect(body['uptime']).toMatch(/^\d+\.\d{3}s$/);
    expect((await fetch(`http://127.0.0.1:${healthPort}/`)).status).toBe(404);

    expect(await agent.stop()).toBe(0);
    await expect(fetch(url)).rejects.toThrow();
  });

  it('leaves nothing listening when the receiver cannot start', async () => {
    const healthPort = await freePort();
    const file = writeConfig(withHealthCheck(await freePort(), healthPort, '/nonexistent/netns'));
    const r = await runCli(['--config', file]);
    expect(r.code, r.stderr).not.toBe(0);
    expect(r.stderr).toContain('receivers.dropreason');
    expect(r.stderr).not.toContain('everything is ready');
    await expect(fetch(`http://127.0.0.1:${healthPort}/health/status`)).rejects.toThrow();
  });
});
