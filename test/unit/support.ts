/** Shared fixtures for unit tests: a logger that records, and real SDK metrics on demand. */
import { type Attributes, createNoopMeter } from '@opentelemetry/api';
import { resourceFromAttributes, type Resource } from '@opentelemetry/resources';
import { MeterProvider, MetricReader, type ResourceMetrics } from '@opentelemetry/sdk-metrics';

import type { CreateSettings } from '../../src/service/component.js';
import { createLogger, type Logger } from '../../src/service/logger.js';

/** A logger whose lines are kept in `lines` instead of going to stderr. */
export function recordingLogger(): { logger: Logger; lines: string[] } {
  const lines: string[] = [];
  return { logger: createLogger('debug', 'test', (line) => lines.push(line)), lines };
}

export const testResource: Resource = resourceFromAttributes({ 'service.name': 'dropreason-test' });

export function settingsFor(id: string, logger: Logger = recordingLogger().logger): CreateSettings {
  return { id, logger, resource: testResource, meter: createNoopMeter() };
}

/** Collects only when asked, like the receiver's own reader. */
export class ManualReader extends MetricReader {
  protected override async onForceFlush(): Promise<void> {}
  protected override async onShutdown(): Promise<void> {}
}

export interface Observation {
  value: number;
  attributes: Attributes;
}

export interface InstrumentSpec {
  name: string;
  description?: string;
  unit?: string;
  kind: 'counter' | 'updowncounter' | 'gauge' | 'histogram';
  observations: Observation[];
}

/**
 * Runs a real MeterProvider with observable instruments (histograms are recorded
 * synchronously) and returns what one collect() yields.
 */
export async function collect(
  instruments: InstrumentSpec[],
  resource: Resource = testResource,
): Promise<ResourceMetrics> {
  const reader = new ManualReader();
  const provider = new MeterProvider({ resource, readers: [reader] });
  const meter = provider.getMeter('dropreason-test');
  for (const spec of instruments) {
    const options = { description: spec.description ?? '', unit: spec.unit ?? '' };
    if (spec.kind === 'histogram') {
      const h = meter.createHistogram(spec.name, options);
      for (const o of spec.observations) h.record(o.value, o.attributes);
      continue;
    }
    const instrument =
      spec.kind === 'counter'
        ? meter.createObservableCounter(spec.name, options)
        : spec.kind === 'updowncounter'
          ? meter.createObservableUpDownCounter(spec.name, options)
          : meter.createObservableGauge(spec.name, options);
    instrument.addCallback((result) => {
      for (const o of spec.observations) result.observe(o.value, o.attributes);
    });
  }
  const { resourceMetrics, errors } = await reader.collect();
  await provider.shutdown();
  if (errors.length) throw new Error(`collection errors: ${errors.map(String).join('; ')}`);
  return resourceMetrics;
}

export const COUNT_DESCRIPTION = 'Packets dropped by the kernel, by reason and direction.';
export const BYTES_DESCRIPTION =
  'Bytes of the packets dropped by the kernel (skb->len at the drop), by reason and direction.';

/** The receiver's two counters with the given (reason, direction, packets, bytes) rows. */
export function dropCounters(
  rows: Array<[reason: string, direction: string, packets: number, bytes: number]>,
): InstrumentSpec[] {
  return [
    {
      name: 'dropreason.drop.count',
      description: COUNT_DESCRIPTION,
      unit: '{packet}',
      kind: 'counter',
      observations: rows.map(([reason, direction, packets]) => ({ value: packets, attributes: { reason, direction } })),
    },
    {
      name: 'dropreason.drop.bytes',
      description: BYTES_DESCRIPTION,
      unit: 'By',
      kind: 'counter',
      observations: rows.map(([reason, direction, , bytes]) => ({ value: bytes, attributes: { reason, direction } })),
    },
  ];
}

/** A batch whose drop count is `packets` (IPTABLE_RULE_DROP egress, 128 bytes each), so tests can tell batches apart. */
export function dropBatch(packets: number): Promise<ResourceMetrics> {
  return collect(dropCounters([['IPTABLE_RULE_DROP', 'egress', packets, packets * 128]]));
}
