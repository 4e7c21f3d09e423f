/**
 * The receiver's own metrics (service.telemetry.metrics): what is attached and how, how
 * map reads go, how full the map is, and what the program costs in the kernel. Names,
 * descriptions and units come from metadata.yaml.
 */
import type { Counter, Histogram } from '@opentelemetry/api';

import { instrumentOptions } from '../../service/metadata.js';
import type { TelemetryMeter } from '../../service/self_meter.js';
import { METRICS_MAP_ENTRIES } from './abi.js';
import type { DropProgram } from './drop_program.js';
import {
  AGENT_COLLECTIONS,
  AGENT_HOOK_STATUS,
  AGENT_MAP_CAPACITY,
  AGENT_MAP_ENTRIES,
  AGENT_MAP_READ_DURATION,
  AGENT_PROGRAM_ATTACHED,
  AGENT_PROGRAM_RUN_COUNT,
  AGENT_PROGRAM_RUN_TIME,
  AGENT_SAMPLES_DELIVERED,
  AGENT_SAMPLES_LOST,
  AGENT_SAMPLES_REFUSED,
  metadata,
} from './metadata.generated.js';

type TelemetryName = keyof typeof metadata.telemetry.metrics;

/** Where the counting program is attached, as logs and the `hook` attribute name it. */
export function attachPoint(hook: DropProgram['hook']): string {
  return hook === 'tp_btf' ? 'tp_btf/kfree_skb' : 'tracepoint/skb/kfree_skb';
}

/** What the observed metrics read at each collection of the agent's telemetry. */
export interface TelemetrySource {
  /** The attached program; undefined once the receiver has shut down. */
  program(): DropProgram | undefined;
  /** Entries in the kernel drop map at the last read. */
  mapEntries(): number;
  /** Samples of drops refused by the budget (by reason) and lost in delivery, so far. */
  samples?(): { refused: Array<[string, number]>; lost: number };
}

export class ReceiverTelemetry {
  private readonly readDuration: Histogram;
  private readonly collections: Counter;
  private readonly samplesDelivered: Counter;
  private readonly attributes: { receiver: string };

  /** Registers the instruments on the meter; nothing is observed before its next collection. */
  constructor(meter: TelemetryMeter, receiver: string, hook: string, source: TelemetrySource) {
    this.attributes = { receiver };
    const options = (name: TelemetryName) => instrumentOptions(metadata.telemetry.metrics[name]);
    meter.createObservableGauge(AGENT_PROGRAM_ATTACHED, options(AGENT_PROGRAM_ATTACHED)).addCallback((r) => {
      const program = source.program();
      if (program) r.observe(1, { program: program.programName, hook, receiver });
    });
    meter.createObservableGauge(AGENT_HOOK_STATUS, options(AGENT_HOOK_STATUS)).addCallback((r) => {
      for (const h of source.program()?.hooks?.status ?? []) {
        r.observe(1, { function: h.fn, reason: h.reason, strategy: h.strategy, receiver });
      }
    });
    meter
      .createObservableGauge(AGENT_MAP_ENTRIES, options(AGENT_MAP_ENTRIES))
      .addCallback((r) => r.observe(source.mapEntries(), { map: 'metrics_map', receiver }));
    meter
      .createObservableGauge(AGENT_MAP_CAPACITY, options(AGENT_MAP_CAPACITY))
      .addCallback((r) => r.observe(METRICS_MAP_ENTRIES, { map: 'metrics_map', receiver }));
    this.readDuration = meter.createHistogram(AGENT_MAP_READ_DURATION, options(AGENT_MAP_READ_DURATION));
    this.collections = meter.createCounter(AGENT_COLLECTIONS, options(AGENT_COLLECTIONS));
    this.samplesDelivered = meter.createCounter(AGENT_SAMPLES_DELIVERED, options(AGENT_SAMPLES_DELIVERED));
    const refused = meter.createObservableCounter(AGENT_SAMPLES_REFUSED, options(AGENT_SAMPLES_REFUSED));
    const lost = meter.createObservableCounter(AGENT_SAMPLES_LOST, options(AGENT_SAMPLES_LOST));
    meter.addBatchObservableCallback(
      (r) => {
        const samples = source.samples?.();
        if (!samples) return;
        for (const [reason, n] of samples.refused) r.observe(refused, n, { reason, receiver });
        r.observe(lost, samples.lost, { receiver });
      },
      [refused, lost],
    );
    // Kernel-side cost of the counter: only counts while kernel.bpf_stats_enabled is 1.
    const runs = meter.createObservableCounter(AGENT_PROGRAM_RUN_COUNT, options(AGENT_PROGRAM_RUN_COUNT));
    const runTime = meter.createObservableCounter(AGENT_PROGRAM_RUN_TIME, options(AGENT_PROGRAM_RUN_TIME));
    meter.addBatchObservableCallback(
      (r) => {
        const program = source.program();
        const info = program?.programInfo();
        if (!program || !info) return;
        const attrs = { program: program.programName, receiver };
        r.observe(runs, Number(info.runCount), attrs);
        r.observe(runTime, Number(info.runTimeNs), attrs);
      },
      [runs, runTime],
    );
  }

  /** One read of the kernel maps took this long. */
  recordRead(seconds: number): void {
    this.readDuration.record(seconds, this.attributes);
  }

  /** Samples of drops sent down the logs pipelines. */
  recordSamples(count: number): void {
    this.samplesDelivered.add(count, this.attributes);
  }

  /** One collection (read and push) ended. */
  recordCollection(result: 'ok' | 'error'): void {
    this.collections.add(1, { result, ...this.attributes });
  }
}
