/**
 * A real Prometheus server (Debian's package) on a config written by the test, and the
 * HTTP API calls Grafana makes to it: instant and range queries, and label values.
 */
import { type ChildProcess, spawn } from 'node:child_process';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';

import { sleep } from './agent.js';

export const havePrometheus = fs.existsSync('/usr/bin/prometheus') && fs.existsSync('/usr/bin/promtool');

/** One series of a query's answer: its labels and its [unix seconds, value] points. */
export interface RangeSeries {
  metric: Record<string, string>;
  values: Array<[number, string]>;
}

export class PrometheusServer {
  private child: ChildProcess | undefined;
  readonly dir = fs.mkdtempSync(path.join(os.tmpdir(), 'dropreason-prom-'));
  log = '';

  constructor(readonly port: number) {}

  /** Starts Prometheus on `config` (prometheus.yml text) and waits until it is ready. */
  async start(config: string): Promise<void> {
    fs.writeFileSync(path.join(this.dir, 'prometheus.yml'), config);
    this.child = spawn(
      'prometheus',
      [
        `--config.file=${path.join(this.dir, 'prometheus.yml')}`,
        `--storage.tsdb.path=${path.join(this.dir, 'data')}`,
        `--web.listen-address=127.0.0.1:${this.port}`,
      ],
      { stdio: ['ignore', 'pipe', 'pipe'] },
    );
    this.child.stdout!.on('data', (d) => (this.log += d));
    this.child.stderr!.on('data', (d) => (this.log += d));
    const deadline = Date.now() + 30_000;
    for (;;) {
      try {
        if ((await fetch(`http://127.0.0.1:${this.port}/-/ready`)).ok) return;
      } catch {
        // not listening yet
      }
      if (Date.now() > deadline || this.child.exitCode !== null)
        throw new Error(`prometheus did not start:\n${this.log}`);
      await sleep(200);
    }
  }

  private async api<T>(endpoint: string, params: Record<string, string>): Promise<T> {
    const res = await fetch(`http://127.0.0.1:${this.port}/api/v1/${endpoint}?${new URLSearchParams(params)}`);
    const body = (await res.json()) as { status: string; error?: string; data: T };
    if (body.status !== 'success') throw new Error(`${endpoint} ${JSON.stringify(params)}: ${body.error}`);
    return body.data;
  }

  /** An instant query's series (vector answers only). */
  async instant(
    expr: string,
    time?: number,
  ): Promise<Array<{ metric: Record<string, string>; value: [number, string] }>> {
    const params: Record<string, string> = { query: expr };
    if (time !== undefined) params['time'] = String(time);
    const data = await this.api<{ result: Array<{ metric: Record<string, string>; value: [number, string] }> }>(
      'query',
      params,
    );
    return data.result;
  }

  /** A range query, as a Grafana time series panel makes it; times in unix seconds. */
  async range(expr: string, start: number, end: number, step: number): Promise<RangeSeries[]> {
    const data = await this.api<{ result: RangeSeries[] }>('query_range', {
      query: expr,
      start: String(start),
      end: String(end),
      step: String(step),
    });
    return data.result;
  }

  /** The values of `label` on the series `match` selects, as Grafana's label_values(match, label) asks. */
  async labelValues(label: string, match: string): Promise<string[]> {
    return this.api<string[]>(`label/${label}/values`, { 'match[]': match });
  }

  /** The value of an instant query with exactly one result, or undefined. */
  async query(expr: string): Promise<number | undefined> {
    const result = await this.instant(expr);
    if (result.length > 1) throw new Error(`${expr} matched ${result.length} series`);
    return result[0] ? Number(result[0].value[1]) : undefined;
  }

  /** Polls until the query returns `expected` (or times out) and returns the last value. */
  async waitFor(expr: string, expected: number): Promise<number | undefined> {
    const deadline = Date.now() + 30_000;
    let value: number | undefined;
    while (Date.now() < deadline) {
      value = await this.query(expr);
      if (value === expected) return value;
      await sleep(500);
    }
    return value;
  }

  async stop(): Promise<void> {
    if (this.child && this.child.exitCode === null) {
      const exited = new Promise((resolve) => this.child!.on('exit', resolve));
      this.child.kill('SIGTERM');
      await exited;
    }
    fs.rmSync(this.dir, { recursive: true, force: true });
  }
}
