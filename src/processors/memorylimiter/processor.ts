/**
 * Measures the agent's resident memory every check_interval. Above the soft limit it lets
 * through the node totals and the pods it has passed before, and refuses series of pods it
 * has not: a pod storm cannot grow memory further, and what was visible stays visible.
 */
import fs from 'node:fs';
import os from 'node:os';

import type { Component, CreateSettings, MetricsConsumer, ResourceMetrics } from '../../service/component.js';
import { type MemoryLimiterConfig, softLimitBytes } from './config.js';

/** The resource attribute that marks pod-level data. */
const POD_KEY = 'k8s.pod.ip';

/** Pods not passed for this long are forgotten, so a later return counts as new. */
export const FORGET_AFTER_MS = 5 * 60_000;

export interface MemorySource {
  /** The agent's memory use in bytes. */
  used(): number;
  /** The memory available to the agent in bytes (for limit_percentage). */
  available(): number;
}

/** The cgroup v2 limit of this process (the container's), or the machine's memory. */
function availableMemory(): number {
  try {
    const self = fs.readFileSync('/proc/self/cgroup', 'utf8').match(/^0::(.*)$/m)?.[1];
    const max = fs.readFileSync(`/sys/fs/cgroup${self ?? ''}/memory.max`, 'utf8').trim();
    if (/^\d+$/.test(max)) return Math.min(Number(max), os.totalmem());
  } catch {
    // No cgroup v2 limit readable: the machine's memory.
  }
  return os.totalmem();
}

export const processMemory: MemorySource = { used: () => process.memoryUsage.rss(), available: availableMemory };

export class MemoryLimiterProcessor implements Component, MetricsConsumer {
  private timer: NodeJS.Timeout | undefined;
  private limit = 0;
  private over = false;
  /** Pods passed, by k8s.pod.ip, with when they were last passed. */
  private readonly known = new Map<string, number>();
  private refusedPoints = 0;

  constructor(
    private readonly settings: CreateSettings,
    private readonly config: MemoryLimiterConfig,
    private readonly next: MetricsConsumer,
    private readonly memory: MemorySource = processMemory,
    private readonly now: () => number = Date.now,
  ) {}

  async start(): Promise<void> {
    if (this.timer) return;
    this.limit = softLimitBytes(this.config, this.memory.available());
    this.check();
    this.timer = setInterval(() => this.check(), this.config.check_interval).unref();
  }

  async shutdown(): Promise<void> {
    clearInterval(this.timer);
    this.timer = undefined;
  }

  /** Measures once; logs when the state changes. Public for tests, which call it instead of waiting. */
  check(): void {
    const used = this.memory.used();
    const over = used >= this.limit;
    const cutoff = this.now() - FORGET_AFTER_MS;
    for (const [pod, at] of this.known) if (at < cutoff) this.known.delete(pod);
    if (over === this.over) return;
    this.over = over;
    const fields = { used_mib: mib(used), soft_limit_mib: mib(this.limit), known_pods: this.known.size };
    if (over) this.settings.logger.warn('memory above the soft limit: refusing series of new pods', fields);
    else {
      this.settings.logger.info('memory below the soft limit again: taking new pods', {
        ...fields,
        refused_points: this.refusedPoints,
      });
      this.refusedPoints = 0;
    }
  }

  /** Whether series of new pods are being refused. */
  get refusing(): boolean {
    return this.over;
  }

  consume(metrics: ResourceMetrics[]): Promise<void> {
    const at = this.now();
    const out = metrics.filter((rm) => {
      const pod = rm.resource.attributes[POD_KEY];
      if (pod === undefined) return true;
      const key = String(pod);
      if (this.over && !this.known.has(key)) {
        this.refusedPoints += rm.scopeMetrics.reduce(
          (n, s) => n + s.metrics.reduce((m, x) => m + x.dataPoints.length, 0),
          0,
        );
        return false;
      }
      this.known.set(key, at);
      return true;
    });
    return this.next.consume(out);
  }
}

function mib(bytes: number): number {
  return Math.round(bytes / 1024 / 1024);
}
