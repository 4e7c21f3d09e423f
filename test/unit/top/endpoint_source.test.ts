/** Scrapes a real HTTP server on localhost serving fixed text. */
import http from 'node:http';
import type { AddressInfo } from 'node:net';
import { afterEach, describe, expect, it } from 'vitest';

import { EndpointSource } from '../../../src/top/endpoint_source.js';
import type { Refresh } from '../../../src/top/source.js';

let server: http.Server | undefined;
afterEach(() => new Promise<void>((resolve) => (server ? server.close(() => resolve()) : resolve())));

async function serve(status: number, body: () => string): Promise<string> {
  server = http.createServer((_req, res) => {
    res.writeHead(status, { 'content-type': 'text/plain' });
    res.end(body());
  });
  await new Promise<void>((resolve) => server!.listen(0, '127.0.0.1', resolve));
  return `http://127.0.0.1:${(server.address() as AddressInfo).port}/metrics`;
}

/** A port nothing listens on: one that was just closed. */
async function closedPort(): Promise<number> {
  const s = http.createServer();
  await new Promise<void>((resolve) => s.listen(0, '127.0.0.1', resolve));
  const port = (s.address() as AddressInfo).port;
  await new Promise((resolve) => s.close(resolve));
  return port;
}

describe('EndpointSource', () => {
  it('turns a scrape into a snapshot', async () => {
    const url = await serve(
      200,
      () => 'dropreason_drop_count_total{direction="egress",reason="IPTABLE_RULE_DROP"} 137\n',
    );
    const r = (await new EndpointSource(url, 1000).scrape()) as Extract<Refresh, { snapshot: unknown }>;
    expect(r.note).toBeUndefined();
    expect(r.snapshot.drops).toEqual([{ reason: 'IPTABLE_RULE_DROP', direction: 'egress', packets: 137, bytes: 0 }]);
  });

  it('takes an empty endpoint for an agent with nothing counted yet', async () => {
    const url = await serve(200, () => '');
    expect(await new EndpointSource(url, 1000).scrape()).toMatchObject({
      snapshot: { drops: [], pods: [] },
      note: undefined,
    });
  });

  it('says when the endpoint is not a dropreason agent', async () => {
    const url = await serve(200, () => 'process_cpu_seconds_total 3\n');
    const r = await new EndpointSource(url, 1000).scrape();
    expect(r).toMatchObject({
      note: `no dropreason metrics at ${url}: is it a dropreason agent's Prometheus endpoint?`,
    });
  });

  it('says why it cannot read the endpoint, and that it will retry', async () => {
    const url = await serve(404, () => 'not here');
    expect(await new EndpointSource(url, 1000).scrape()).toEqual({
      error: `cannot read ${url}: HTTP 404; retrying every 1s`,
    });
    const refused = `http://127.0.0.1:${await closedPort()}/metrics`;
    expect(await new EndpointSource(refused, 500).scrape()).toEqual({
      error: `cannot read ${refused}: ECONNREFUSED; retrying every 500ms`,
    });
  });

  it('scrapes every interval until stopped, and keeps going after a failure', async () => {
    let n = 0;
    const url = await serve(200, () => {
      n++;
      return `dropreason_drop_count_total{direction="ingress",reason="NO_SOCKET"} ${n * 10}\n`;
    });
    const source = new EndpointSource(url, 100);
    const seen: number[] = [];
    await new Promise<void>((resolve) => {
      void source.start((r) => {
        if ('snapshot' in r) seen.push(r.snapshot.drops[0]!.packets);
        if (seen.length === 3) resolve();
      });
    });
    await source.stop();
    expect(seen).toEqual([10, 20, 30]);
  });
});
