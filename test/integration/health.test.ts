/**
 * The health_check extension in the real CLI: once the agent is ready its endpoint answers
 * 200 with the Collector's JSON status (the receiver has read its maps), and after SIGTERM
 * nothing listens there any more; an agent whose receiver cannot start leaves nothing
 * listening either.
 */
import { afterEach, describe, expect, it } from 'vitest';

import { Agent, basicConfig, freePort, isRoot, runCli, writeConfig } from './harness/agent.js';

if (!isRoot) console.log('skipping health_check tests: they need root to load eBPF');

function withHealthCheck(metricsPort: number, healthPort: number, netns?: string): string {
  return (
    `extensions:\n  health_check:\n    endpoint: 127.0.0.1:${healthPort}\n    path: /health/status\n` +
    basicConfig(metricsPort, { netns }).replace('service:\n', 'service:\n  extensions: [health_check]\n')
  );
}

describe.skipIf(!isRoot)('health_check extension', () => {
  let agent: Agent | undefined;
  afterEach(async () => {
    await agent?.stop();
    agent = undefined;
  });

  it('answers 200 with the JSON status once ready, and is gone after SIGTERM', async () => {
    const healthPort = await freePort();
    const metricsPort = await freePort();
    agent = await Agent.start(withHealthCheck(metricsPort, healthPort), metricsPort);
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
    agent = undefined;
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
