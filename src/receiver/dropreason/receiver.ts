/**
 * The dropreason receiver: every collection_interval it reads the kernel's drop map,
 * reports the totals through observable counters, and pushes the collected
 * ResourceMetrics to the next consumer.
 */
import fs from 'node:fs';
import { type Counter, type Histogram, type ObservableResult, ValueType } from '@opentelemetry/api';
import { MeterProvider, MetricReader } from '@opentelemetry/sdk-metrics';

import type { NativeBinding } from '../../native/binding.js';
import type { Component, CreateSettings, MetricsConsumer } from '../../service/component.js';
import { METRICS_MAP_ENTRIES } from './abi.js';
import { aggregateDrops, type DropTotal } from './aggregate.js';
import type { DropReasonConfig } from './config.js';
import { DropProgram } from './drop_program.js';
import { metric } from './metadata.js';
import { FlowTable } from './flows.js';
import { KernelSymbols } from './kallsyms.js';
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
  private mapEntries = 0;
  private readDuration: Histogram | undefined;
  private collections: Counter | undefined;

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
        location: this.config.location,
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
      this.setUpSelfTelemetry();
      log.info('counting kernel drops', {
        hook: program.hook === 'tp_btf' ? 'tp_btf/kfree_skb' : 'tracepoint/skb/kfree_skb',
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
  private readonly symbols = new KernelSymbols();
  private unresolvedLogged = false;

  /** Names the drop locations not seen before, from /proc/kallsyms. */
  private async resolveLocations(locations: Iterable<bigint>): Promise<void> {
    const unresolved = await this.symbols.resolve(locations);
    if (unresolved.length > 0 && !this.unresolvedLogged) {
      this.unresolvedLogged = true;
      this.settings.logger.warn(
        'drop locations not found in /proc/kallsyms (kernel.kptr_restrict hides addresses from this process?): reported as addresses',
        { count: unresolved.length },
      );
    }
  }
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
      valueType: ValueType.INT,
    });
    const bytes = meter.createObservableCounter(BYTES_METRIC, {
      description: bytesMeta.description,
      unit: bytesMeta.unit,
      valueType: ValueType.INT,
    });
    const observe = (result: ObservableResult, pick: (t: DropTotal) => number) => {
      for (const t of this.totals) {
        const attributes: Record<string, string> = { reason: t.reason, direction: t.direction };
        if (t.error) attributes.error = t.error;
        if (t.location) attributes.location = t.location;
        result.observe(pick(t), attributes);
      }
    };
    count.addCallback((r) => observe(r, (t) => t.count));
    bytes.addCallback((r) => observe(r, (t) => t.bytes));
  }

  /** The agent's own metrics: what is attached, how reads go, how full the map is. */
  private setUpSelfTelemetry(): void {
    const meter = this.settings.meter;
    const hook = this.program!.hook === 'tp_btf' ? 'tp_btf/kfree_skb' : 'tracepoint/skb/kfree_skb';
    meter
      .createObservableGauge('dropreason.agent.program.attached', {
        description: 'eBPF programs attached, by program and hook: 1 while attached.',
      })
      .addCallback((r) => {
        if (this.program) r.observe(1, { program: this.program.programName, hook, receiver: this.settings.id });
      });
    meter
      .createObservableGauge('dropreason.agent.hook.status', {
        description: 'How each function hook is attached: 1 for its strategy (fexit, kprobe, unavailable, not needed).',
      })
      .addCallback((r) => {
        for (const h of this.program?.hooks?.status ?? []) {
          r.observe(1, { function: h.fn, reason: h.reason, strategy: h.strategy, receiver: this.settings.id });
        }
      });
    meter
      .createObservableGauge('dropreason.agent.map.entries', {
        description: 'Entries in the kernel drop map at the last read, against its capacity.',
        unit: '{entry}',
      })
      .addCallback((r) => {
        r.observe(this.mapEntries, { map: 'metrics_map', receiver: this.settings.id });
      });
    meter
      .createObservableGauge('dropreason.agent.map.capacity', {
        description: 'Entries the kernel drop map can hold.',
        unit: '{entry}',
      })
      .addCallback((r) => r.observe(METRICS_MAP_ENTRIES, { map: 'metrics_map', receiver: this.settings.id }));
    this.readDuration = meter.createHistogram('dropreason.agent.map.read.duration', {
      description: 'Time to read and decode the kernel drop maps.',
      unit: 's',
      advice: { explicitBucketBoundaries: [0.0001, 0.00025, 0.0005, 0.001, 0.0025, 0.005, 0.01, 0.05, 0.1] },
    });
    this.collections = meter.createCounter('dropreason.agent.collections', {
      description: 'Collections (map read and push), by result.',
    });
    // Kernel-side cost of the counter: only counts while kernel.bpf_stats_enabled is 1.
    const runs = meter.createObservableCounter('dropreason.agent.program.run.count', {
      description: 'Times the eBPF program ran (needs kernel.bpf_stats_enabled=1).',
      unit: '{run}',
    });
    const runTime = meter.createObservableCounter('dropreason.agent.program.run.time', {
      description: 'Time spent in the eBPF program (needs kernel.bpf_stats_enabled=1).',
      unit: 'ns',
    });
    meter.addBatchObservableCallback(
      (r) => {
        const info = this.program?.programInfo();
        if (!info) return;
        const attrs = { program: this.program!.programName, receiver: this.settings.id };
        r.observe(runs, Number(info.runCount), attrs);
        r.observe(runTime, Number(info.runTimeNs), attrs);
      },
      [runs, runTime],
    );
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
      await this.resolveLocations(snapshot.counters.map((c) => c.location));
      this.totals = aggregateDrops(snapshot, this.names, this.exclude(), (a) => this.symbols.name(a));
      this.readDuration?.record(Number(process.hrtime.bigint() - t0) / 1e9, { receiver: this.settings.id });
      this.mapEntries = snapshot.mapEntries ?? 0;
      const { resourceMetrics, errors } = await this.reader.collect();
      for (const e of errors) this.settings.logger.warn('metric collection error', { error: String(e) });
      const batch = [resourceMetrics];
      if (this.flows) {
        const { flows, other } = await this.program.readFlows();
        await this.resolveLocations(flows.map((f) => f.location));
        const now = Date.now();
        this.flows.add(flows, other, now, (a) => this.symbols.name(a));
        batch.push(...this.flows.resourceMetrics(this.settings.resource, now));
      }
      await this.next.consume(batch);
      this.collections?.add(1, { result: 'ok', receiver: this.settings.id });
    } catch (err) {
      this.collections?.add(1, { result: 'error', receiver: this.settings.id });
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
