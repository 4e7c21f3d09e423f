import { describe, expect, it } from 'vitest';

import { configSchema, type HealthCheckConfig } from '../../../../src/extensions/healthcheck/config.js';
import { HealthCheckExtension, statusBody } from '../../../../src/extensions/healthcheck/extension.js';
import { healthCheckExtensionFactory } from '../../../../src/extensions/healthcheck/factory.js';
import type { ConfigIssue } from '../../../../src/service/schema.js';
import { settingsFor } from '../../support.js';

function config(settings: Record<string, unknown> = {}): HealthCheckConfig {
  const issues: ConfigIssue[] = [];
  const c = configSchema.parse(settings, 'extensions.health_check', issues);
  expect(issues).toEqual([]);
  // Port 0 (any free port) is not a valid config value, but is what tests need.
  return { ...c!, endpoint: settings['endpoint'] ? c!.endpoint : { host: '127.0.0.1', port: 0 } };
}

/** A host whose health the test sets. */
function fakeHost() {
  const host = { state: true as true | string, health: () => host.state };
  return host;
}

async function get(ext: HealthCheckExtension, path: string) {
  const res = await fetch(`http://127.0.0.1:${ext.address()!.port}${path}`);
  return { status: res.status, type: res.headers.get('content-type'), body: await res.text() };
}

describe('statusBody', () => {
  it('writes the JSON status the Collector writes, with the reason when not available', () => {
    const since = new Date('2026-01-01T00:00:00.000Z');
    const now = new Date('2026-01-01T00:01:30.250Z');
    expect(JSON.parse(statusBody(true, since, now))).toEqual({
      status: 'Server available',
      upSince: '2026-01-01T00:00:00.000Z',
      uptime: '90.250s',
    });
    expect(JSON.parse(statusBody('shutting down', since, now))).toEqual({
      status: 'Server not available',
      reason: 'shutting down',
      upSince: '2026-01-01T00:00:00.000Z',
      uptime: '90.250s',
    });
  });
});

describe('health_check extension', () => {
  it('shuts down without start, and starts and stops twice', async () => {
    const ext = new HealthCheckExtension(settingsFor('extensions.health_check'), config(), fakeHost());
    await ext.shutdown();
    await ext.start();
    await ext.start();
    expect(ext.address()?.port).toBeGreaterThan(0);
    await ext.shutdown();
    await ext.shutdown();
    expect(ext.address()).toBeUndefined();
    await ext.start();
    expect(ext.address()?.port).toBeGreaterThan(0);
    await ext.shutdown();
  });

  it('answers 200 while the host is healthy and 503 with the reason otherwise', async () => {
    const host = fakeHost();
    const ext = new HealthCheckExtension(settingsFor('extensions.health_check'), config(), host);
    await ext.start();
    try {
      const ok = await get(ext, '/');
      expect(ok.status).toBe(200);
      expect(ok.type).toBe('application/json');
      expect(JSON.parse(ok.body)).toMatchObject({ status: 'Server available' });

      host.state = 'receivers.dropreason: has not read the drop maps yet';
      const down = await get(ext, '/');
      expect(down.status).toBe(503);
      expect(JSON.parse(down.body)).toMatchObject({
        status: 'Server not available',
        reason: 'receivers.dropreason: has not read the drop maps yet',
      });

      expect((await get(ext, '/other')).status).toBe(404);
    } finally {
      await ext.shutdown();
    }
  });

  it('serves path, and the fixed response bodies when configured', async () => {
    const host = fakeHost();
    const ext = new HealthCheckExtension(
      settingsFor('extensions.health_check'),
      config({ path: '/health/status', response_body: { healthy: 'up', unhealthy: 'down' } }),
      host,
    );
    await ext.start();
    try {
      expect(await get(ext, '/health/status')).toEqual({ status: 200, type: 'text/plain', body: 'up' });
      host.state = 'starting';
      expect(await get(ext, '/health/status')).toEqual({ status: 503, type: 'text/plain', body: 'down' });
      expect((await get(ext, '/')).status).toBe(404);
    } finally {
      await ext.shutdown();
    }
  });

  it('without a service, the factory builds one that is never healthy', async () => {
    const ext = healthCheckExtensionFactory.create(settingsFor('extensions.health_check'), config(), {
      consume: async () => {},
    }) as HealthCheckExtension;
    await ext.start();
    try {
      const r = await get(ext, '/');
      expect(r.status).toBe(503);
      expect(JSON.parse(r.body)).toMatchObject({ reason: 'no service is running' });
    } finally {
      await ext.shutdown();
    }
  });

  it('says which address is taken', async () => {
    const first = new HealthCheckExtension(settingsFor('extensions.health_check'), config(), fakeHost());
    await first.start();
    const port = first.address()!.port;
    const second = new HealthCheckExtension(
      settingsFor('extensions.health_check'),
      config({ endpoint: `127.0.0.1:${port}` }),
      fakeHost(),
    );
    try {
      await expect(second.start()).rejects.toThrow(`cannot listen on 127.0.0.1:${port}: address already in use`);
    } finally {
      await second.shutdown();
      await first.shutdown();
    }
  });
});
