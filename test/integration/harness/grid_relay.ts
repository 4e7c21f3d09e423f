/**
 * Puts the samples of several scrape targets on one time grid, so that PromQL's rate()
 * over a test's scenario gives exact counts.
 *
 * Prometheus stamps each sample with the time of its scrape, and each target is scraped
 * at its own phase within the interval. rate() and irate() extrapolate to the ends of
 * their window from those stamps, so a panel's answer over several nodes is never an
 * exact count. A relay sits between Prometheus and one agent: it serves the agent's text
 * unchanged, each sample with an explicit timestamp (honoured by Prometheus) on a grid
 * of whole intervals shared by every relay (`base + n * interval`, base being the first
 * scrape of any), so the samples of every target sit on the same instants and a window whose ends are grid instants has samples on both
 * ends. The area under a panel's curve, queried with a step of one interval over a span
 * that starts and ends with the counters still for a rate window, is then exactly the
 * counters' increase.
 */
import http from 'node:http';
import type { AddressInfo } from 'node:net';

import { closeAtOnce } from './close.js';

/** The shared grid: its first instant (ms) and its interval. */
export class Grid {
  base: number | undefined;
  constructor(readonly intervalMs: number) {}
}

/** One scrape the relay answered: its grid index and when it arrived (ms). */
export interface Served {
  n: number;
  at: number;
}

export class GridRelay {
  private server: http.Server | undefined;
  private previous: Served | undefined;
  /** The scrapes this relay has answered, as they completed. */
  readonly served: Served[] = [];
  port = 0;

  constructor(
    readonly grid: Grid,
    readonly upstream: string,
  ) {}

  async start(): Promise<void> {
    const server = http.createServer((req, res) => void this.handle(res));
    await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
    this.server = server;
    this.port = (server.address() as AddressInfo).port;
  }

  /**
   * The grid index of a scrape arriving at `at`: the first by its distance from the grid's
   * base, each next one the previous plus the whole intervals since it (at least one), so
   * that a scrape a few milliseconds early or late keeps its place.
   */
  private index(at: number): number {
    const interval = this.grid.intervalMs;
    this.grid.base ??= at;
    const previous = this.previous;
    const n = previous
      ? previous.n + Math.max(1, Math.round((at - previous.at) / interval))
      : Math.round((at - this.grid.base) / interval);
    this.previous = { n, at };
    return n;
  }

  /** The grid instant (ms) of index n. */
  instant(n: number): number {
    return this.grid.base! + n * this.grid.intervalMs;
  }

  /** The index of the first scrape answered that arrived after `time` (ms), if any. */
  firstAfter(time: number): number | undefined {
    return this.served.find((s) => s.at > time)?.n;
  }

  /** The newest index answered, or -1. */
  get last(): number {
    return this.served.at(-1)?.n ?? -1;
  }

  private async handle(res: http.ServerResponse): Promise<void> {
    const at = Date.now();
    const n = this.index(at);
    try {
      const text = await (await fetch(this.upstream)).text();
      const ts = this.instant(n);
      const body = text
        .split('\n')
        .map((line) => (line === '' || line.startsWith('#') ? line : `${line} ${ts}`))
        .join('\n');
      res.writeHead(200, { 'content-type': 'text/plain; version=0.0.4' }).end(body);
      this.served.push({ n, at });
    } catch (err) {
      res.writeHead(502).end(String(err));
    }
  }

  async stop(): Promise<void> {
    const server = this.server;
    this.server = undefined;
    if (server) await closeAtOnce(server);
  }
}
