/**
 * The agent's own Meter against the OpenTelemetry SDK it replaces: the same instruments,
 * fed the same values, collect to the same served text.
 */
import { ValueType } from '@opentelemetry/api';
import { resourceFromAttributes } from '@opentelemetry/resources';
import { MeterProvider } from '@opentelemetry/sdk-metrics';
import { describe, expect, it } from 'vitest';

import { serialize } from '../../../src/translator/prometheus/serializer.js';
import { AgentMeter, type TelemetryMeter } from '../../../src/service/self_meter.js';
import { ManualReader } from '../support.js';

const resource = resourceFromAttributes({ 'service.name': 'dropreason' });

/** Feeds a meter; returns what changes its observations between collections. */
function use(meter: TelemetryMeter) {
  const state = { attached: true, lost: 3, refused: [['A', 2] as [string, number]] };
  const collections = meter.createCounter('collections', { description: 'Collections.', valueType: ValueType.INT });
  collections.add(1, { result: 'ok', receiver: 'r' });
  collections.add(2, { receiver: 'r', result: 'ok' }); // the same series, attributes in another order
  collections.add(1, { result: 'error', receiver: 'r' });
  collections.add(-5, { result: 'ok', receiver: 'r' }); // refused: counters only go up
  collections.add(1.7, { result: 'ok', receiver: 'r' }); // an int instrument: counts 1
  const advised = meter.createHistogram('read.duration', {
    unit: 's',
    advice: { explicitBucketBoundaries: [0.001, 0.01, 0.1] },
  });
  for (const v of [0.0005, 0.001, 0.05, 2, -1]) advised.record(v, { receiver: 'r' });
  const plain = meter.createHistogram('plain');
  for (const v of [0, 5, 6, 12000]) plain.record(v);
  meter.createObservableGauge('attached').addCallback((r) => {
    if (state.attached) r.observe(1, { program: 'p' });
  });
  const refused = meter.createObservableCounter('refused');
  const lost = meter.createObservableCounter('lost');
  meter.addBatchObservableCallback(
    (r) => {
      for (const [reason, n] of state.refused) r.observe(refused, n, { reason });
      r.observe(lost, state.lost);
    },
    [refused, lost],
  );
  return state;
}

describe("the agent's own Meter", () => {
  it('collects what the SDK collects, and observes again at each collection, keeping series no longer observed', async () => {
    const reader = new ManualReader();
    const provider = new MeterProvider({ resource, readers: [reader] });
    const sdkState = use(provider.getMeter('dropreason.agent'));
    const ours = new AgentMeter(resource);
    const ourState = use(ours);
    const text = async () => {
      const sdk = await reader.collect();
      const own = await ours.collect();
      expect(own.errors).toEqual([]);
      return { sdk: serialize([sdk.resourceMetrics]), own: serialize([own.resourceMetrics]) };
    };

    const first = await text();
    expect(first.own).toBe(first.sdk);
    expect(first.own).toContain('collections_total{receiver="r",result="ok"} 4\n');
    expect(first.own).toContain('read_duration_bucket{receiver="r",le="0.001"} 2\n');

    for (const state of [sdkState, ourState]) {
      state.attached = false;
      state.lost = 5;
      state.refused = [['B', 1]];
    }
    const second = await text();
    expect(second.own).toBe(second.sdk);
    expect(second.own).toContain('lost_total 5\n');
    expect(second.own).toContain('refused_total{reason="A"} 2\n');
    expect(second.own).toContain('attached{program="p"} 1\n');
    await provider.shutdown();
  });

  it('reports the error of a callback that throws, and the other instruments', async () => {
    const meter = new AgentMeter(resource);
    meter.createObservableGauge('broken').addCallback(() => {
      throw new Error('no map');
    });
    meter.createObservableGauge('fine').addCallback((r) => r.observe(1));
    const { resourceMetrics, errors } = await meter.collect();
    expect(errors.map(String)).toEqual(['Error: no map']);
    expect(serialize([resourceMetrics])).toBe('# TYPE fine gauge\nfine 1\n');
  });
});
