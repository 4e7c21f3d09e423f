/**
 * The dropreason receiver: every collection_interval it reads the kernel's drop maps,
 * builds ResourceMetrics from them (totals.ts, flows.ts) and pushes them to the next
 * consumer.
 */
import fs from 'node:fs';
import path from 'node:path';

import type { ResourceMetrics } from '@opentelemetry/sdk-metrics';

import type { NativeBinding } from '../../native/binding.js';
import type { Component, Consumer, CreateSettings } from '../../service/component.js';
import { decodeSample, type DropSample, sampleSlot } from './abi.js';
import { aggregateDrops } from './aggregate.js';
import { type DropReasonConfig, samplesPerReason } from './config.js';
import { DropProgram } from './drop_program.js';
import { FlowTable } from './flows.js';
import { KernelSymbols } from './kallsyms.js';
import { kernelSymbolSource } from './symbol_program.js';
import { interfaceFilter, InterfaceTable, readInterfaceCounters, SYSFS_NET } from './interfaces.js';
import { SCOPE } from './metric_data.js';
import { ReasonNames } from './reasons.js';
import { InterfaceNames, KernelClock, SampleBudget, sampleLogs, sampleRecord, slotReason } from './samples.js';
import { attachPoint, ReceiverTelemetry } from './telemetry.js';
import { TotalsTable } from './totals.js';

export class DropReasonReceiver implements Component {
  private started = false;
  private program: DropProgram | undefined;
  private names = new ReasonNames(null);
  /** Basic series, from the kernel's totals; made at start. */
  private totals: TotalsTable | undefined;
  /** Per-pod series, in advanced mode only. */
  private flows: FlowTable | undefined;
  /** Per-interface drop counters, unless interfaces.enabled is false. */
  private interfaces: InterfaceTable | undefined;
  private acceptInterface: (name: string) => boolean = () => true;
  private telemetry: ReceiverTelemetry | undefined;
  private unresolvedLogged = false;
  /** Entries in the kernel drop map at the last read. */
  private mapEntries = 0;
  private timer: NodeJS.Timeout | undefined;
  /** When the drop maps were last read successfully (ms since the epoch). */
  private lastRead: number | undefined;
  private collecting: Promise<void> | undefined;
  /** Samples of drops, while the kernel takes them (a logs pipeline follows, samples_per_second > 0). */
  private samples:
    { budget: SampleBudget; clock: KernelClock; interfaces: InterfaceNames; timer: NodeJS.Timeout } | undefined;
  private sampling: Promise<void> | undefined;
  /** What became of samples: sent on, refused by the budget (by slot: kernel and here), lost. */
  private readonly sampleCounts = {
    kernelRefused: new Map<number, number>(),
    refusedHere: new Map<number, number>(),
    kernelLost: 0,
    undecodable: 0,
  };

  constructor(
    private readonly settings: CreateSettings,
    private readonly config: DropReasonConfig,
    private readonly next: Consumer,
    private readonly binding: () => NativeBinding,
    /** Names of drop locations: the kernel symbol table, or /proc/kallsyms. */
    private readonly symbols = new KernelSymbols(() => kernelSymbolSource(binding, settings.logger)),
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
        location: this.config.location,
        samples:
          this.next.consumeLogs && this.config.samples_per_second > 0
            ? { perSecond: this.config.samples_per_second, perReason: samplesPerReason(this.config) }
            : undefined,
      },
      log,
    );
    this.program = program;
    this.started = true;
    if (this.config.location) this.symbols.prepare();
    try {
      this.names = new ReasonNames(reasons, subsystems);
      if (this.config.mode === 'advanced') {
        this.flows = new FlowTable(this.names, {
          peerAttributes: this.config.peer_attributes,
          ttlMs: this.config.pod_series_ttl,
          exclude: this.exclude(),
        });
      }
      if (this.config.interfaces.enabled) {
        this.interfaces = new InterfaceTable();
        this.acceptInterface = interfaceFilter(this.config.interfaces.include, this.config.interfaces.exclude);
      }
      if (!reasons)
        log.warn(
          'kernel BTF has no enum skb_drop_reason (kernel before 5.17): drops read UNKNOWN_DROP, netfilter drops IPTABLE_RULE_DROP',
        );
      const known = this.names.known();
      for (const r of this.config.exclude_reasons) {
        if (!known.has(r)) log.warn('exclude_reasons names a reason this kernel does not have', { reason: r });
      }
      this.totals = new TotalsTable();
      this.telemetry = new ReceiverTelemetry(this.settings.meter, this.settings.id, attachPoint(program.hook), {
        program: () => this.program,
        mapEntries: () => this.mapEntries,
        samples: () => this.sampleTotals(),
      });
      this.startSamples(program);
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

  /** Takes the kernel's samples every second, when it takes any; says why not otherwise. */
  private startSamples(program: DropProgram): void {
    const log = this.settings.logger;
    if (program.samples !== 'on') {
      if (program.samples !== 'off') log.warn(`no samples of drops: ${program.samples}`);
      else if (this.next.consumeLogs) log.info('samples_per_second is 0: no samples of drops');
      return;
    }
    const perReason = samplesPerReason(this.config);
    this.samples = {
      budget: new SampleBudget(this.config.samples_per_second, perReason),
      clock: new KernelClock(),
      interfaces: new InterfaceNames(ownNetnsInode()),
      timer: setInterval(() => void this.takeSamples(), 1000),
    };
    log.info('sampling dropped packets', {
      samples_per_second: this.config.samples_per_second,
      samples_per_reason_per_second: perReason,
    });
  }

  /** One turn of the sample budget, and the samples taken since the last: overlapping calls share one. */
  takeSamples(): Promise<void> {
    this.sampling ??= this.takeSamplesOnce().finally(() => (this.sampling = undefined));
    return this.sampling;
  }

  private async takeSamplesOnce(): Promise<void> {
    const program = this.program;
    const samples = this.samples;
    const send = this.next.consumeLogs?.bind(this.next);
    if (!program || !samples || !send) return;
    try {
      program.nextSampleEpoch();
      const kept: DropSample[] = [];
      for (const raw of await program.takeSamples()) {
        let sample: DropSample;
        try {
          sample = decodeSample(raw);
        } catch {
          this.sampleCounts.undecodable++;
          continue;
        }
        if (samples.budget.admit(sample)) kept.push(sample);
        else {
          const slot = slotOf(sample);
          this.sampleCounts.refusedHere.set(slot, (this.sampleCounts.refusedHere.get(slot) ?? 0) + 1);
        }
      }
      if (kept.length === 0) return;
      await this.resolveLocations(kept.map((s) => s.location));
      const observed = samples.clock.toHrTime(process.hrtime.bigint());
      const records = [];
      for (const sample of kept) {
        const context = {
          reason: this.names.name(sample.origin, sample.reason),
          location: this.symbols.name(sample.location),
          interfaceName: await samples.interfaces.name(sample.ifindex, sample.netns),
        };
        records.push({ sample, record: sampleRecord(sample, context, samples.clock, observed) });
      }
      await send(sampleLogs(records, this.settings.resource, this.config.mode === 'advanced'));
      this.telemetry?.recordSamples(records.length);
    } catch (err) {
      this.settings.logger.error('taking samples of drops failed', { error: (err as Error).message });
    }
  }

  /** Refused and lost samples so far, for the agent's own metrics. */
  private sampleTotals(): { refused: Array<[string, number]>; lost: number } {
    const c = this.sampleCounts;
    const bySlot = new Map(c.kernelRefused);
    for (const [slot, n] of c.refusedHere) bySlot.set(slot, (bySlot.get(slot) ?? 0) + n);
    const byReason = new Map<string, number>();
    for (const [slot, n] of bySlot) {
      const reason = slotReason(slot, this.names);
      byReason.set(reason, (byReason.get(reason) ?? 0) + n);
    }
    return { refused: [...byReason], lost: c.kernelLost + c.undecodable };
  }

  /** Healthy while the drop maps were read within the last 3 collection intervals. */
  healthy(now = Date.now()): true | string {
    if (!this.program) return 'not started';
    if (this.lastRead === undefined) return 'has not read the drop maps yet';
    const ago = now - this.lastRead;
    const interval = this.config.collection_interval;
    if (ago > 3 * interval) {
      return `last read the drop maps ${(ago / 1000).toFixed(1)}s ago, more than 3 collection intervals (${interval / 1000}s each)`;
    }
    return true;
  }

  private exclude(): ReadonlySet<string> {
    return new Set(this.config.exclude_reasons);
  }

  /** Names the drop locations not seen before. */
  private async resolveLocations(locations: Iterable<bigint>): Promise<void> {
    const unresolved = await this.symbols.resolve(locations);
    if (unresolved.length > 0 && !this.unresolvedLogged) {
      this.unresolvedLogged = true;
      const { readError: error, via, notFoundHint: hint } = this.symbols;
      this.settings.logger.warn(
        error
          ? `drop locations cannot be named: ${via ?? 'the symbol list'} failed; reported as addresses`
          : `drop locations not found in ${via}${hint ? ` (${hint})` : ''}: reported as addresses`,
        { count: unresolved.length, ...(error ? { error } : {}) },
      );
    }
  }

  /** One read-and-push; overlapping calls share the one in flight. */
  collect(): Promise<void> {
    this.collecting ??= this.collectOnce().finally(() => (this.collecting = undefined));
    return this.collecting;
  }

  /**
   * The last read-and-push, at shutdown: a read made after the one in flight, if any (that
   * one may have read the maps before the last drops, and waited since to name a drop site).
   */
  private async collectLast(): Promise<void> {
    await this.collecting;
    await this.collectOnce();
  }

  private async collectOnce(): Promise<void> {
    if (!this.program || !this.totals) return;
    const name = (a: bigint) => this.symbols.name(a);
    try {
      const t0 = process.hrtime.bigint();
      const snapshot = await this.program.read();
      this.lastRead = Date.now();
      await this.resolveLocations(snapshot.counters.map((c) => c.location));
      const totals = aggregateDrops(snapshot, this.names, this.exclude(), name);
      this.telemetry?.recordRead(Number(process.hrtime.bigint() - t0) / 1e9);
      this.mapEntries = snapshot.mapEntries ?? 0;
      const readAt = Date.now();
      this.totals.update(totals, readAt);
      const batch = [this.totals.resourceMetrics(this.settings.resource, readAt)];
      if (this.flows) {
        const { flows, other } = await this.program.readFlows();
        const now = Date.now();
        await this.resolveLocations(flows.map((f) => f.location));
        this.flows.add(flows, other, now, name);
        batch.push(...this.flows.resourceMetrics(this.settings.resource, now));
      }
      if (this.interfaces) batch.push(await this.interfaceDrops());
      if (this.samples) {
        const { refused, lost } = await this.program.sampleRefusals();
        this.sampleCounts.kernelRefused = refused;
        this.sampleCounts.kernelLost = lost;
      }
      await this.next.consume(batch);
      this.telemetry?.recordCollection('ok');
    } catch (err) {
      this.telemetry?.recordCollection('error');
      this.settings.logger.error('collection failed', { error: (err as Error).message });
    }
  }

  /** The interfaces' drop counters; on a failed read, the last ones held. */
  private async interfaceDrops(): Promise<ResourceMetrics> {
    const table = this.interfaces!;
    try {
      const root = path.join(this.config.interfaces.root_path ?? '/', SYSFS_NET);
      table.update(await readInterfaceCounters(this.acceptInterface, root), Date.now());
    } catch (err) {
      this.settings.logger.warn('reading interface counters failed', { error: (err as Error).message });
    }
    return {
      resource: this.settings.resource,
      scopeMetrics: [{ scope: SCOPE, metrics: [table.metricData(Date.now())] }],
    };
  }

  async shutdown(): Promise<void> {
    if (this.timer) clearInterval(this.timer);
    this.timer = undefined;
    if (this.samples) clearInterval(this.samples.timer);
    if (this.started && this.program) {
      await this.collectLast(); // push the last totals before detaching: read after the stop, not before
      await this.sampling;
      await this.takeSamplesOnce(); // and the last samples
    }
    this.samples = undefined;
    await this.symbols.close();
    this.program?.close();
    this.program = undefined;
    this.totals = undefined;
    this.lastRead = undefined;
    this.started = false;
  }
}

function slotOf(sample: DropSample): number {
  return sampleSlot(sample.reason, sample.origin);
}

/** The inode of the agent's own network namespace; 0 if it cannot be read. */
function ownNetnsInode(): number {
  try {
    return fs.statSync('/proc/self/ns/net').ino;
  } catch {
    return 0;
  }
}

function netnsInodeOf(file: string): number {
  try {
    return fs.statSync(file).ino;
  } catch (err) {
    throw new Error(`netns ${file}: ${(err as NodeJS.ErrnoException).code ?? (err as Error).message}`, { cause: err });
  }
}
