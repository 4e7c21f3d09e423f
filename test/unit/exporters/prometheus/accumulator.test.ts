import { resourceFromAttributes } from '@opentelemetry/resources';
import { AggregationTemporality, DataPointType, type ResourceMetrics } from '@opentelemetry/sdk-metrics';
import { describe, expect, it } from 'vitest';

import { Accumulator } from '../../../../src/exporters/prometheus/accumulator.js';
import { serialize } from '../../../../src/translator/prometheus/serializer.js';

function push(
  points: Array<[string, number]>,
  resource = resourceFromAttributes({ 'service.name': 'x' }),
): ResourceMetrics[] {
  return [
    {
      resource,
      scopeMetrics: [
        {
          scope: { name: 'dropreason' },
          metrics: [
            {
              descriptor: {
                name: 'dropreason.drop.count',
                description: 'Drops.',
                unit: '{packet}',
                valueType: 1,
              },
              aggregationTemporality: AggregationTemporality.CUMULATIVE,
              dataPointType: DataPointType.SUM,
              isMonotonic: true,
              dataPoints: points.map(([reason, value]) => ({
                attributes: { reason, direction: 'ingress' },
                startTime: [0, 0],
                endTime: [1, 0],
                value,
              })),
            },
          ],
        },
      ],
    },
  ];
}

describe('Accumulator', () => {
  it('keeps the latest value of every series, across pushes from several pipelines', () => {
    const acc = new Accumulator(60_000, () => 0);
    acc.add(
      push([
        ['NO_SOCKET', 1],
        ['TCP_CLOSE_BASIC', 2],
      ]),
    );
    acc.add(push([['NO_SOCKET', 5]]));
    acc.add(push([['IPTABLE_RULE_DROP', 7]], resourceFromAttributes({ 'service.name': 'y' })));
    expect(serialize(acc.collect())).toBe(
      [
        '# HELP dropreason_drop_count_total Drops.',
        '# TYPE dropreason_drop_count_total counter',
        'dropreason_drop_count_total{direction="ingress",reason="NO_SOCKET"} 5',
        'dropreason_drop_count_total{direction="ingress",reason="TCP_CLOSE_BASIC"} 2',
        'dropreason_drop_count_total{direction="ingress",reason="IPTABLE_RULE_DROP"} 7',
        '',
      ].join('\n'),
    );
  });

  it('forgets series not updated within the expiration', () => {
    let now = 0;
    const acc = new Accumulator(300_000, () => now);
    acc.add(
      push([
        ['NO_SOCKET', 1],
        ['TCP_CLOSE_BASIC', 2],
      ]),
    );
    now = 200_000;
    acc.add(push([['NO_SOCKET', 3]]));
    now = 300_001; // TCP_CLOSE_BASIC last seen at 0, NO_SOCKET at 200s
    const text = serialize(acc.collect());
    expect(text).toContain('reason="NO_SOCKET"} 3');
    expect(text).not.toContain('TCP_CLOSE_BASIC');
    expect(acc.size).toBe(1);
    now = 500_001;
    expect(serialize(acc.collect())).toBe('');
    expect(acc.size).toBe(0);
  });

  it('adds constant labels, and a point attribute wins over a constant of the same name', () => {
    const acc = new Accumulator(60_000, () => 0);
    acc.add(push([['NO_SOCKET', 1]]));
    const text = serialize(acc.collect(), { constLabels: { cluster: 'prod', reason: 'ignored' } });
    expect(text).toContain('dropreason_drop_count_total{cluster="prod",direction="ingress",reason="NO_SOCKET"} 1');
  });
});
