/**
 * The dropreason receiver: every collection_interval it reads the kernel's drop map,
 * reports the totals through observable counters, and pushes the collected
 * ResourceMetrics to the next consumer.
 */
import fs from 'node:fs';
import type { ObservableResult } from '@opentelemetry/api';
import { MeterProvider, MetricReader } from '@opentelemetry/sdk-metrics';

import type { NativeBinding } from '../../native/binding.js';
import type { Component, CreateSettings, MetricsConsumer } from '../../service/component.js';
import { aggregateDrops, type DropTotal } from './aggregate.js';
import type { DropReasonConfig } from './config.js';
import { DropProgram } from './drop_program.js';
import { metric } from './metadata.js';
import { ReasonNames } from './reasons.js';

/** A reader that collects only when asked: the receiver decides when. */
class OnDemandReader extends MetricReader {
  protected override async onForceFlush(): Promise<void> {}
  protected override async onShutdown(): Promise<void> {}
}

export const COUNT_METRIC = 'dropreason.drop.count';
export const BYTES_METRIC = 'dropreason.drop.bytes';

export class DropReasonReceiver implements Component {
  private program: DropProgram | undefined;
  private provider: MeterProvider | undefined;
  private reader: OnDemandReader | undefined;
  private timer: NodeJS.Timeout | undefined;
  private totals: DropTotal[] = [];
  private collecting: Promise<void> | undefined;
  private started = false;

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
    const program = await DropProgram.open(
      binding,
      { hook: this.config.hook, btfPath: this.config.btf_path, netnsInode },
      log,
    );
    this.program = program;
    this.started = true;
    try {
      const btf = this.config.btf_path;
      const [reasons, subsystems] = await Promise.all([
        binding.readBtfEnum('skb_drop_reason', btf),
        binding.readBtfEnum('skb_drop_reason_subsys', btf),
      ]);
      this.names = new ReasonNames(reasons, subsystems);
      if (!reasons)
        log.warn('kernel BTF has no enum skb_drop_reason (kernel before 5.17): every drop reads UNKNOWN_DROP');
      const known = this.names.known();
      for (const r of this.config.exclude_reasons) {
        if (!known.has(r)) log.warn('exclude_reasons names a reason this kernel does not have', { reason: r });
      }
      this.setUpMeter();
      log.info('counting kernel drops', {
        hook: program.hook === 'tp_btf' ? 'tp_btf/kfree_skb' : 'tracepoint/skb/kfree_skb',
        reasons: known.size,
        interval: `${this.config.collection_interval}ms`,
        netns: this.config.netns,
      });
      await this.collect();
      this.timer = setInterval(() => void this.collect(), this.config.collection_interval);
    } catch (err) {
      await this.shutdown();
      throw err;
    }
  }

  private names = new ReasonNames(null);
  private exclude(): ReadonlySet<string> {
    return new Set(this.config.exclude_reasons);
  }

  private setUpMeter(): void {
    this.reader = new OnDemandReader();
    this.provider = new MeterProvider({ resource: this.settings.resource, readers: [this.reader] });
    const meter = this.provider.getMeter('dropreason');
    const countMeta = metric(COUNT_METRIC);
    const bytesMeta = metric(BYTES_METRIC);
    const count = meter.createObservableCounter(COUNT_METRIC, {
      description: countMeta.description,
      unit: countMeta.unit,
    });
    const bytes = meter.createObservableCounter(BYTES_METRIC, {
      description: bytesMeta.description,
      unit: bytesMeta.unit,
    });
    const observe = (result: ObservableResult, pick: (t: DropTotal) => number) => {
      for (const t of this.totals) result.observe(pick(t), { reason: t.reason, direction: t.direction });
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
      const snapshot = await this.program.read();
      this.totals = aggregateDrops(snapshot, this.names, this.exclude());
      const { resourceMetrics, errors } = await this.reader.collect();
      for (const e of errors) this.settings.logger.warn('metric collection error', { error: String(e) });
      await this.next.consume([resourceMetrics]);
    } catch (err) {
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
