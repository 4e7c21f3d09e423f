/**
 * Values the agent writes down instead of importing, so that loading a component does not
 * load a heavy library: they must stay equal to the library's own.
 */
import { status as grpcStatus } from '@grpc/grpc-js';
import { AggregationTemporality, DataPointType } from '@opentelemetry/sdk-metrics';
import { describe, expect, it } from 'vitest';

import { grpcCodeName, status } from '../../src/exporters/otlp/retry.js';
import { CUMULATIVE, GAUGE, HISTOGRAM, SUM } from '../../src/pdata/data_types.js';

describe('constants that stand for a library', () => {
  it('the SDK enum values the pipeline data carries', () => {
    expect(CUMULATIVE).toBe(AggregationTemporality.CUMULATIVE);
    expect(GAUGE).toBe(DataPointType.GAUGE);
    expect(SUM).toBe(DataPointType.SUM);
    expect(HISTOGRAM).toBe(DataPointType.HISTOGRAM);
  });

  it('the gRPC status codes, by number and by name', () => {
    const names = Object.entries(grpcStatus).filter(([, v]) => typeof v === 'number');
    expect(names.length).toBe(17);
    for (const [name, code] of names) {
      expect(status[name as keyof typeof status]).toBe(code);
      expect(grpcCodeName({ code })).toBe(name);
    }
    expect(grpcCodeName({ code: 99 })).toBe('code 99');
  });
});
