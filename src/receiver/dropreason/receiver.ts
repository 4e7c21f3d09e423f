/**
 * The dropreason receiver: every collection_interval it reads the kernel's drop map,
 * reports the totals through observable counters, and pushes the collected
 * ResourceMetrics to the next consumer.
 */
import fs from 'node:fs';
import { type ObservableResult, ValueType } from '@opentelemetry/api';
import { MeterProvider, MetricReader } from '@opentelemetry/sdk-metrics';

import type { NativeBinding } from '../../native/binding.js';
import type { Component, CreateSettings, MetricsConsumer } from '../../service/component.js';
import { aggregateDrops, type DropTotal } from './aggregate.js';
import type { DropReasonConfig } from './config.js';
import { DropProgram } from './drop_program.js';
import { DROP_BYTES, DROP_COUNT, metadata } from './metadata.generated.js';
import { FlowTable } from './flows.js';
import { ReasonNames } from './reasons.js';
import { attachPoint, ReceiverTelemetry } from './telemetry.js';

/** A reader that collects only when asked: the receiver decides when. */
class OnDemandReader extends MetricReader {
  protected override async onForceFlush(): Promise<void> {}
  protected override async onShutdown(): Promise<void> {}
}

export class DropReasonReceiver implements Component {
  private program: DropProgram | undefined;
  private provider: MeterProvider | undefined;
  private reader: OnDemandReader | undefined;
  private timer: NodeJS.Timeout | undefined;
  private totals: DropTotal[] = [];
  private collecting: Promise<void> | undefined;
  private started = false;
  private mapEntries = 0;
  private telemetry: ReceiverTelemetry | undefined;

  constructor(
    private readonly settings: CreateSettings,
    private readonly config: DropReasonConfig,
    private readonly next: MetricsConsumer,
    private readonly binding: () => NativeBinding,
  ) {}

  async start(): Promise<void> {
    if (this.started) return;
    const log = this.settings.logger;
    const binding = this.binding();
    const netnsInode = this.config.netns ? netnsInodeOf(this.config.netns) : undefined;
    const btf = this.config.btf_path;
    const [reasons, subsystems] = await Promise.all([
      binding.readBtfEnum('skb_drop_reason', btf),
      binding.readBtfEnum('skb_drop_reason_subsys', btf),
    ]);
    const program = await DropProgram.open(
      binding,
      {
        hook: this.config.hook,
        btfPath: btf,
        netnsInode,
        functionHooks: this.config.function_hooks,
        advanced: this.config.mode === 'advanced',
        kernelHasReasons: reasons !== null,
      },
      log,
    );
    this.program = program;
    this.started = true;
    try {
      this.names = new ReasonNames(reasons, subsystems);
      if (this.config.mode === 'advanced') {
        this.flows = new FlowTable(this.names, {
          peerAttributes: this.config.peer_attributes,
          ttlMs: this.config.pod_series_ttl,
          exclude: this.exclude(),
        });
      }
      if (!reasons)
        log.warn(
          'kernel BTF has no enum skb_drop_reason (kernel before 5.17): drops read UNKNOWN_DROP, netfilter drops IPTABLE_RULE_DROP',
        );
      const known = this.names.known();
      for (const r of this.config.exclude_reasons) {
        if (!known.has(r)) log.warn('exclude_reasons names a reason this kernel does not have', { reason: r });
      }
      this.setUpMeter();
      this.telemetry = new ReceiverTelemetry(this.settings.meter, this.settings.id, attachPoint(program.hook), {
        program: () => this.program,
        mapEntries: () => this.mapEntries,
      });
      log.info('counting kernel drops', {
        hook: attachPoint(program.hook),
        reasons: known.size,
        interval: `${this.config.collection_interval}ms`,
        netns: this.config.netns,
        mode: this.config.mode,
      });
      await this.collect();
      this.timer = setInterval(() => void this.collect(), this.config.collection_interval);
    } catch (err) {
      await this.shutdown();
      throw err;
    }
  }

  private names = new ReasonNames(null);
  private flows: FlowTable | undefined;
  private exclude(): ReadonlySet<string> {
    return new Set(this.config.exclude_reasons);
  }

  private setUpMeter(): void {
    this.reader = new OnDemandReader();
    this.provider = new MeterProvider({ resource: this.settings.resource, readers: [this.reader] });
    const meter = this.provider.getMeter('dropreason');
    const countMeta = metadata.metrics[DROP_COUNT];
    const bytesMeta = metadata.metrics[DROP_BYTES];
    const count = meter.createObservableCounter(DROP_COUNT, {
      description: countMeta.description,
      unit: countMeta.unit,
      valueType: ValueType.INT,
    });
    const bytes = meter.createObservableCounter(DROP_BYTES, {
      description: bytesMeta.description,
      unit: bytesMeta.unit,
      valueType: ValueType.INT,
    });
    const observe = (result: ObservableResult, pick: (t: DropTotal) => number) => {
      for (const t of this.totals) {
        const attributes = t.error
          ? { reason: t.reason, direction: t.direction, error: t.error }
          : { reason: t.reason, direction: t.direction };
        result.observe(pick(t), attributes);
      }
    };
    count.addCallback((r) => observe(r, (t) => t.count));
    bytes.addCallback((r) => observe(r, (t) => t.bytes));
  }

  /** One read-and-push; overlapping calls share the one in flight. */
  collect(): Promise<void> {
    this.collecting ??= this.collectOnce().finally(() => (this.collecting = undefined));
    return this.collecting;
  }

  private async collectOnce(): Promise<void> {
    if (!this.program || !this.reader) return;
    try {
      const t0 = process.hrtime.bigint();
      const snapshot = await this.program.read();
      this.totals = aggregateDrops(snapshot, this.names, this.exclude());
      this.telemetry?.recordRead(Number(process.hrtime.bigint() - t0) / 1e9);
      this.mapEntries = snapshot.mapEntries ?? 0;
      const { resourceMetrics, errors } = await this.reader.collect();
      for (const e of errors) this.settings.logger.warn('metric collection error', { error: String(e) });
      const batch = [resourceMetrics];
      if (this.flows) {
        const { flows, other } = await this.program.readFlows();
        const now = Date.now();
        this.flows.add(flows, other, now);
        batch.push(...this.flows.resourceMetrics(this.settings.resource, now));
      }
      await this.next.consume(batch);
      this.telemetry?.recordCollection('ok');
    } catch (err) {
      this.telemetry?.recordCollection('error');
      this.settings.logger.error('collection failed', { error: (err as Error).message });
    }
  }

  async shutdown(): Promise<void> {
    if (this.timer) clearInterval(this.timer);
    this.timer = undefined;
    if (this.started && this.program) {
      await this.collect(); // push the last totals before detaching
    }
    this.program?.close();
    this.program = undefined;
    await this.provider?.shutdown();
    this.provider = undefined;
    this.reader = undefined;
    this.started = false;
  }
}

function netnsInodeOf(file: string): number {
  try {
    return fs.statSync(file).ino;
  } catch (err) {
    throw new Error(`netns ${file}: ${(err as NodeJS.ErrnoException).code ?? (err as Error).message}`, { cause: err });
  }
}
