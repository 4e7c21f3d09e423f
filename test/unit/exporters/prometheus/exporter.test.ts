import fs from 'node:fs';
import net from 'node:net';
import path from 'node:path';
import { afterEach, describe, expect, it, vi } from 'vitest';

import type { PrometheusConfig } from '../../../../src/exporters/prometheus/config.js';
import { PrometheusExporter } from '../../../../src/exporters/prometheus/exporter.js';
import { prometheusExporterFactory } from '../../../../src/exporters/prometheus/factory.js';
import { packageRoot } from '../../../../src/native/binding.js';
import { collect, dropCounters, recordingLogger, settingsFor } from '../../support.js';

const config = (overrides: Partial<PrometheusConfig> = {}): PrometheusConfig => ({
  endpoint: { host: '127.0.0.1', port: 0 },
  namespace: undefined,
  const_labels: {},
  metric_expiration: 300_000,
  naming: 'otel',
  retina_context: undefined,
  ...overrides,
});

const golden = (name: string) =>
  fs.readFileSync(path.join(packageRoot, 'src/exporters/prometheus/testdata', name), 'utf8');

const DROPS: Array<[string, string, number, number]> = [
  ['NO_SOCKET', 'ingress', 42, 2520],
  ['IPTABLE_RULE_DROP', 'egress', 7, 420],
  ['UNKNOWN_DROP', 'unknown', 1, 1500],
];

const running: PrometheusExporter[] = [];
function exporter(overrides: Partial<PrometheusConfig> = {}): PrometheusExporter {
  const e = new PrometheusExporter(settingsFor('exporters.prometheus'), config(overrides));
  running.push(e);
  return e;
}
afterEach(async () => {
  vi.useRealTimers();
  await Promise.all(running.splice(0).map((e) => e.shutdown()));
});

function url(e: PrometheusExporter, pathname: string): string {
  const address = e.address();
  if (!address) throw new Error('the exporter is not listening');
  return `http://127.0.0.1:${address.port}${pathname}`;
}

describe('PrometheusExporter lifecycle', () => {
  it('is created by its factory without listening', () => {
    const e = prometheusExporterFactory.create(settingsFor('exporters.prometheus'), config(), {
      consume: async () => {},
    }) as PrometheusExporter;
    expect(e.address()).toBeUndefined();
  });

  it('shuts down without being started', async () => {
    await expect(exporter().shutdown()).resolves.toBeUndefined();
  });

  it('starts twice on one port, shuts down twice, and starts again', async () => {
    const e = exporter();
    await e.start();
    const first = e.address();
    expect(first?.port).toBeGreaterThan(0);
    await e.start();
    expect(e.address()).toEqual(first);
    await e.shutdown();
    await e.shutdown();
    expect(e.address()).toBeUndefined();
    await expect(fetch(`http://127.0.0.1:${first!.port}/metrics`)).rejects.toThrow();
    await e.start();
    expect((await fetch(url(e, '/metrics'))).status).toBe(200);
  });

  it('says the address is in use when the port is taken', async () => {
    const blocker = net.createServer();
    await new Promise<void>((resolve) => blocker.listen(0, '127.0.0.1', resolve));
    const port = (blocker.address() as net.AddressInfo).port;
    try {
      const e = exporter({ endpoint: { host: '127.0.0.1', port } });
      await expect(e.start()).rejects.toThrow(
        `cannot listen on 127.0.0.1:${port}: address already in use (EADDRINUSE)`,
      );
      expect(e.address()).toBeUndefined();
      await e.shutdown();
    } finally {
      await new Promise((resolve) => blocker.close(resolve));
    }
  });

  it('logs the URL it serves', async () => {
    const { logger, lines } = recordingLogger();
    const e = new PrometheusExporter(settingsFor('exporters.prometheus', logger), config());
    running.push(e);
    await e.start();
    expect(lines.join('')).toContain('serving Prometheus metrics url=http://127.0.0.1:');
  });
});

describe('PrometheusExporter over HTTP', () => {
  it('serves the latest metrics at GET /metrics as text format 0.0.4', async () => {
    const e = exporter();
    await e.start();
    const before = await fetch(url(e, '/metrics'));
    expect(before.status).toBe(200);
    expect(await before.text()).toBe('');

    await e.consume([await collect(dropCounters([['NO_SOCKET', 'ingress', 1, 60]]))]);
    await e.consume([await collect(dropCounters(DROPS))]);
    const res = await fetch(url(e, '/metrics'));
    expect(res.status).toBe(200);
    expect(res.headers.get('content-type')).toBe('text/plain; version=0.0.4; charset=utf-8');
    expect(await res.text()).toBe(golden('drops.prom'));
  });

  it('serves with the namespace and with Retina names as configured', async () => {
    const namespaced = exporter({ namespace: 'node' });
    const retina = exporter({ naming: 'retina' });
    await Promise.all([namespaced.start(), retina.start()]);
    const data = [await collect(dropCounters(DROPS))];
    await Promise.all([namespaced.consume(data), retina.consume(data)]);
    expect(await (await fetch(url(namespaced, '/metrics'))).text()).toBe(golden('drops_namespace_node.prom'));
    expect(await (await fetch(url(retina, '/metrics'))).text()).toBe(golden('drops_retina.prom'));
  });

  it('ignores the query string', async () => {
    const e = exporter();
    await e.start();
    expect((await fetch(url(e, '/metrics?name[]=x'))).status).toBe(200);
  });

  it('answers 404 for other paths', async () => {
    const e = exporter();
    await e.start();
    for (const p of ['/', '/metric', '/metrics/', '/favicon.ico']) {
      const res = await fetch(url(e, p));
      expect(res.status, p).toBe(404);
      expect(await res.text()).toBe('not found: metrics are at /metrics\n');
    }
  });

  it('answers HEAD without a body and refuses POST', async () => {
    const e = exporter();
    await e.start();
    await e.consume([await collect(dropCounters(DROPS))]);
    const head = await fetch(url(e, '/metrics'), { method: 'HEAD' });
    expect(head.status).toBe(200);
    expect(await head.text()).toBe('');
    const post = await fetch(url(e, '/metrics'), { method: 'POST', body: 'x' });
    expect(post.status).toBe(405);
    expect(post.headers.get('allow')).toBe('GET, HEAD');
  });

  it('adds the constant labels to every series', async () => {
    const e = exporter({ const_labels: { cluster: 'prod' } });
    await e.start();
    await e.consume([await collect(dropCounters([['NO_SOCKET', 'ingress', 1, 60]]))]);
    const lines = (await (await fetch(url(e, '/metrics'))).text()).split('\n');
    expect(lines).toContain('dropreason_drop_count_total{cluster="prod",direction="ingress",reason="NO_SOCKET"} 1');
    expect(lines).toContain('dropreason_drop_bytes_total{cluster="prod",direction="ingress",reason="NO_SOCKET"} 60');
  });

  it('keeps series from earlier pushes and forgets those not updated within metric_expiration', async () => {
    vi.useFakeTimers({ toFake: ['Date'] });
    vi.setSystemTime(new Date('2025-01-02T03:04:05.000Z'));
    const e = exporter({ metric_expiration: 60_000 });
    await e.start();
    await e.consume([await collect(dropCounters([['NO_SOCKET', 'ingress', 1, 60]]))]);
    vi.setSystemTime(Date.now() + 30_000);
    await e.consume([await collect(dropCounters([['OTHER', 'egress', 2, 120]]))]);
    const both = await (await fetch(url(e, '/metrics'))).text();
    expect(both).toContain('dropreason_drop_count_total{direction="ingress",reason="NO_SOCKET"} 1\n');
    expect(both).toContain('dropreason_drop_count_total{direction="egress",reason="OTHER"} 2\n');

    vi.setSystemTime(Date.now() + 40_000); // 70 s after NO_SOCKET was last pushed, 40 s after OTHER
    const later = await (await fetch(url(e, '/metrics'))).text();
    expect(later).not.toContain('NO_SOCKET');
    expect(later).toContain('dropreason_drop_count_total{direction="egress",reason="OTHER"} 2\n');
  });
});
