/**
 * What the tests of drop samples share: the agent's configuration (a sampling receiver,
 * Prometheus beside the exporters that take the samples), sending the packets a rule
 * drops, and the check that every dropped packet is accounted for (sampled, refused by
 * the budget, or lost) within the budget.
 */
import path from 'node:path';
import { fileURLToPath } from 'node:url';

import { expect } from 'vitest';

import { type Agent, parseMetrics, type Samples, sleep, sumSeries } from './agent.js';
import { type ExportLogsRequest, logRecords, type ReceivedLogRecord } from './otlp_server.js';
import type { NetnsPair } from './topology.js';

const SEND = path.join(path.dirname(fileURLToPath(import.meta.url)), 'send.mjs');

/** The reason of the drops an iptables rule makes. */
export const REASON = 'IPTABLE_RULE_DROP';

/** Sends `count` UDP packets of `payload` bytes from the pair's A to B's `port`. */
export function sendUdp(pair: NetnsPair, port: number, count: number, payload: number): void {
  pair.exec(pair.a, process.execPath, [SEND, 'udp', pair.addrB, String(port), String(count), String(payload)]);
}

export interface SamplesConfig {
  /** The receiver's settings besides collection_interval (500ms) and samples_per_second. */
  receiver: Record<string, string>;
  perSecond: number;
  prometheusPort: number;
  /** The agent's own metrics on this port (samples delivered, refused, lost). */
  selfPort?: number;
  /** The exporters besides prometheus, each with its settings (YAML lines indented by four). */
  exporters: Record<string, string>;
  processors?: Record<string, string>;
  /** The exporters of each pipeline, and the processors of the logs pipeline. */
  metrics: string[];
  logs: string[];
  logProcessors?: string[];
}

/** An agent that samples drops: metrics to Prometheus (and more), samples to the logs exporters. */
export function samplesConfig(c: SamplesConfig): string {
  const section = (entries: Record<string, string>) =>
    Object.entries(entries).flatMap(([name, settings]) => [`  ${name}:`, ...(settings ? [settings] : [])]);
  const receiver = { collection_interval: '500ms', ...c.receiver, samples_per_second: String(c.perSecond) };
  const lines = [
    'receivers:',
    '  dropreason:',
    ...Object.entries(receiver).map(([key, value]) => `    ${key}: ${value}`),
  ];
  if (c.processors) lines.push('processors:', ...section(c.processors));
  lines.push('exporters:', '  prometheus:', `    endpoint: 127.0.0.1:${c.prometheusPort}`, ...section(c.exporters));
  lines.push('service:');
  if (c.selfPort !== undefined) {
    lines.push('  telemetry:', '    metrics:', '      level: normal', `      address: 127.0.0.1:${c.selfPort}`);
  }
  lines.push(
    '  pipelines:',
    '    metrics:',
    '      receivers: [dropreason]',
    `      exporters: [${c.metrics.join(', ')}]`,
  );
  lines.push('    logs:', '      receivers: [dropreason]');
  if (c.logProcessors) lines.push(`      processors: [${c.logProcessors.join(', ')}]`);
  lines.push(`      exporters: [${c.logs.join(', ')}]`);
  return `${lines.join('\n')}\n`;
}

/** The otlp exporter's settings, to the OTLP/gRPC server on this port. */
export function otlpExporter(port: number): string {
  return `    endpoint: 127.0.0.1:${port}
    tls:
      insecure: true
    timeout: 10s`;
}

export interface Accounting {
  /** The samples of REASON the server holds. */
  samples: ReceivedLogRecord[];
  /** Every log record the server holds. */
  records: ReceivedLogRecord[];
  refused: number;
  lost: number;
  /** The agent's own metrics, scraped with the rest. */
  self: Samples;
}

/**
 * Waits (30 s at most) until the samples the server holds plus those the agent reports
 * refused or lost are every packet dropped, and `until` holds too; then checks that they
 * are, that none was lost, and that the samples keep within the budget: at most
 * `perSecond` per epoch, and epochs last at least a second, so samples spanning S seconds
 * come from at most floor(S) + 2 epochs.
 */
export async function expectEveryDropAccounted(o: {
  agent: Agent;
  selfPort: number;
  logs: ExportLogsRequest[];
  dropped: number;
  perSecond: number;
  until?: (seen: Accounting) => boolean;
}): Promise<Accounting> {
  const accounted = async (): Promise<Accounting> => {
    const self = parseMetrics(await o.agent.scrapeText(o.selfPort));
    const records = logRecords(o.logs);
    return {
      samples: records.filter((r) => r.attributes['dropreason.reason'] === REASON),
      records,
      refused: sumSeries(self, 'dropreason_agent_samples_refused_total', { reason: REASON }),
      lost: sumSeries(self, 'dropreason_agent_samples_lost_total', {}),
      self,
    };
  };
  const done = (seen: Accounting) =>
    seen.samples.length + seen.refused + seen.lost >= o.dropped && (o.until?.(seen) ?? true);
  const deadline = Date.now() + 30_000;
  let seen = await accounted();
  while (!done(seen) && Date.now() < deadline) {
    await sleep(200);
    seen = await accounted();
  }
  const { samples, refused, lost } = seen;
  expect(samples.length + refused + lost).toBe(o.dropped);
  expect(lost).toBe(0);
  expect(samples.length).toBeGreaterThan(0);
  expect(samples.length).toBeLessThan(o.dropped);

  const times = samples.map((s) => s.timeUnixNano);
  const span = Number(times.reduce((a, b) => (b > a ? b : a)) - times.reduce((a, b) => (b < a ? b : a)));
  expect(samples.length).toBeLessThanOrEqual(o.perSecond * (Math.floor(span / 1e9) + 2));
  return seen;
}
