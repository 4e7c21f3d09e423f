import { execFileSync } from 'node:child_process';
import fs from 'node:fs';
import http from 'node:http';
import https from 'node:https';
import net from 'node:net';
import os from 'node:os';
import path from 'node:path';
import zlib from 'node:zlib';
import { afterEach, describe, expect, it, vi } from 'vitest';

import type { PrometheusConfig } from '../../../../src/exporters/prometheus/config.js';
import {
  acceptsGzip,
  CONTENT_TYPE,
  OPENMETRICS_CONTENT_TYPE,
  PrometheusExporter,
  wantsOpenMetrics,
} from '../../../../src/exporters/prometheus/exporter.js';
import { prometheusExporterFactory } from '../../../../src/exporters/prometheus/factory.js';
import { collect, dropCounters, recordingLogger, settingsFor } from '../../support.js';
import { DROPS, exporterConfig, golden } from './fixtures.js';

const running: PrometheusExporter[] = [];
function exporter(overrides: Partial<PrometheusConfig> = {}): PrometheusExporter {
  const e = new PrometheusExporter(settingsFor('exporters.prometheus'), exporterConfig(overrides));
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
    const e = prometheusExporterFactory.create(settingsFor('exporters.prometheus'), exporterConfig(), {
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
    const e = new PrometheusExporter(settingsFor('exporters.prometheus', logger), exporterConfig());
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

describe('PrometheusExporter: negotiation, gzip and TLS', () => {
  /** A raw GET, so the test sees the bytes and headers on the wire. */
  function get(
    target: string,
    headers: Record<string, string>,
    options: https.RequestOptions = {},
  ): Promise<{ status: number; headers: http.IncomingHttpHeaders; body: Buffer }> {
    const client = target.startsWith('https:') ? https : http;
    return new Promise((resolve, reject) => {
      client
        .get(target, { headers, ...options }, (res) => {
          const chunks: Buffer[] = [];
          res.on('data', (c: Buffer) => chunks.push(c));
          res.on('end', () => resolve({ status: res.statusCode!, headers: res.headers, body: Buffer.concat(chunks) }));
        })
        .on('error', reject);
    });
  }

  // What Prometheus 3 sends when it scrapes with OpenMetrics allowed.
  const PROMETHEUS_ACCEPT = 'application/openmetrics-text;version=1.0.0;q=0.5,text/plain;version=0.0.4;q=0.4,*/*;q=0.1';

  it('serves OpenMetrics only when enabled and asked for', async () => {
    const on = exporter({ enable_open_metrics: true });
    const off = exporter();
    for (const e of [on, off]) {
      await e.consume([await collect(dropCounters(DROPS))]);
      await e.start();
    }
    const asked = await get(url(on, '/metrics'), { accept: PROMETHEUS_ACCEPT });
    expect(asked.headers['content-type']).toBe(OPENMETRICS_CONTENT_TYPE);
    expect(asked.body.toString()).toMatch(/# TYPE dropreason_drop_count counter\n[\s\S]*# EOF\n$/);
    const plain = await get(url(on, '/metrics'), { accept: 'text/plain' });
    expect(plain.headers['content-type']).toBe(CONTENT_TYPE);
    expect((await get(url(off, '/metrics'), { accept: PROMETHEUS_ACCEPT })).body.toString()).toBe(golden('drops.prom'));
  });

  it('gzips when the scraper accepts it, and not otherwise', async () => {
    const e = exporter();
    await e.consume([await collect(dropCounters(DROPS))]);
    await e.start();
    const zipped = await get(url(e, '/metrics'), { 'accept-encoding': 'gzip' });
    expect(zipped.headers['content-encoding']).toBe('gzip');
    expect(zlib.gunzipSync(zipped.body).toString()).toBe(golden('drops.prom'));
    const refused = await get(url(e, '/metrics'), { 'accept-encoding': 'gzip;q=0, identity' });
    expect(refused.headers['content-encoding']).toBeUndefined();
    expect(refused.body.toString()).toBe(golden('drops.prom'));
  });

  it('reads Accept and Accept-Encoding as the HTTP rules say', () => {
    expect(wantsOpenMetrics(PROMETHEUS_ACCEPT)).toBe(true);
    expect(wantsOpenMetrics('text/plain;version=0.0.4')).toBe(false);
    expect(wantsOpenMetrics('application/openmetrics-text;q=0,text/plain')).toBe(false);
    expect(wantsOpenMetrics(undefined)).toBe(false);
    expect(acceptsGzip('deflate, gzip;q=1.0, *;q=0.5')).toBe(true);
    expect(acceptsGzip('GZIP')).toBe(true);
    expect(acceptsGzip('gzip;q=0')).toBe(false);
    expect(acceptsGzip('br')).toBe(false);
  });

  it('serves HTTPS with tls, with a certificate made by openssl', async () => {
    const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'dropreason-tls-'));
    const [cert, key] = [path.join(dir, 'cert.pem'), path.join(dir, 'key.pem')];
    execFileSync(
      'openssl',
      [
        'req',
        '-x509',
        '-newkey',
        'ec',
        '-pkeyopt',
        'ec_paramgen_curve:P-256',
        '-nodes',
        '-days',
        '1',
        '-subj',
        '/CN=localhost',
        '-addext',
        'subjectAltName=IP:127.0.0.1',
        '-keyout',
        key,
        '-out',
        cert,
      ],
      { stdio: 'ignore' },
    );
    const tls = {
      cert_file: cert,
      key_file: key,
      cert_pem: undefined,
      key_pem: undefined,
      ca_file: undefined,
      client_ca_file: undefined,
      min_version: '1.2' as const,
      max_version: undefined,
      reload_interval: undefined,
    };
    const e = exporter({ tls });
    await e.consume([await collect(dropCounters(DROPS))]);
    await e.start();
    const target = url(e, '/metrics').replace('http:', 'https:');
    const res = await get(target, {}, { ca: fs.readFileSync(cert) });
    expect(res.status).toBe(200);
    expect(res.body.toString()).toBe(golden('drops.prom'));
    await expect(get(target, {})).rejects.toThrow(/self.signed/);
    await expect(exporter({ tls: { ...tls, key_file: path.join(dir, 'missing.pem') } }).start()).rejects.toThrow(
      /cannot read the TLS key .*missing\.pem/,
    );
    fs.rmSync(dir, { recursive: true });
  });
});
