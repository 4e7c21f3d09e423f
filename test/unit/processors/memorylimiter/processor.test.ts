/** The guard with an injected memory reading: no real allocation, no waiting on the timer. */
import { resourceFromAttributes } from '@opentelemetry/resources';
import { describe, expect, it } from 'vitest';

import type { MemoryLimiterConfig } from '../../../../src/processors/memorylimiter/config.js';
import { FORGET_AFTER_MS, MemoryLimiterProcessor } from '../../../../src/processors/memorylimiter/processor.js';
import type { ResourceMetrics } from '../../../../src/service/component.js';
import { recordingLogger, settingsFor } from '../../support.js';

const MIB = 1024 * 1024;
const config: MemoryLimiterConfig = {
  check_interval: 1000,
  limit_mib: 100,
  spike_limit_mib: 20,
  limit_percentage: 0,
  spike_limit_percentage: 0,
};

const node: ResourceMetrics = { resource: resourceFromAttributes({ 'host.name': 'n1' }), scopeMetrics: [] };
const pod = (ip: string): ResourceMetrics => ({
  resource: resourceFromAttributes({ 'k8s.pod.ip': ip, 'k8s.pod.name': `pod-${ip}` }),
  scopeMetrics: [],
});

function setup() {
  const memory = { usedBytes: 10 * MIB, used: () => memory.usedBytes, available: () => 1024 * MIB };
  const clock = { at: 0 };
  const { logger, lines } = recordingLogger();
  const passed: ResourceMetrics[][] = [];
  const p = new MemoryLimiterProcessor(
    settingsFor('processors.memory_limiter', logger),
    config,
    { consume: async (m) => void passed.push(m) },
    memory,
    () => clock.at,
  );
  const last = () => passed.at(-1)!.map((rm) => String(rm.resource.attributes['k8s.pod.ip'] ?? 'node'));
  return { p, memory, clock, lines, last };
}

describe('MemoryLimiterProcessor', () => {
  it('below the soft limit passes everything', async () => {
    const { p, last } = setup();
    await p.start();
    await p.consume([node, pod('10.0.0.1'), pod('10.0.0.2')]);
    expect(last()).toEqual(['node', '10.0.0.1', '10.0.0.2']);
    await p.shutdown();
  });

  it('above the soft limit refuses new pods, keeps the node and known pods, and logs each change once', async () => {
    const { p, memory, lines, last } = setup();
    await p.start();
    await p.consume([node, pod('10.0.0.1')]);
    memory.usedBytes = 80 * MIB; // the soft limit: 100 − 20 MiB
    p.check();
    p.check();
    expect(p.refusing).toBe(true);
    await p.consume([node, pod('10.0.0.1'), pod('10.0.0.2')]);
    expect(last()).toEqual(['node', '10.0.0.1']);
    await p.consume([node, pod('10.0.0.1'), pod('10.0.0.2')]);
    expect(last()).toEqual(['node', '10.0.0.1']);
    memory.usedBytes = 79 * MIB;
    p.check();
    p.check();
    await p.consume([node, pod('10.0.0.1'), pod('10.0.0.2')]);
    expect(last()).toEqual(['node', '10.0.0.1', '10.0.0.2']);
    const changes = lines.filter((l) => l.includes('soft limit'));
    expect(changes).toHaveLength(2);
    expect(changes[0]).toMatch(/warn .*refusing series of new pods used_mib=80 soft_limit_mib=80 known_pods=1/);
    expect(changes[1]).toMatch(/info .*taking new pods used_mib=79 soft_limit_mib=80 known_pods=1/);
    await p.shutdown();
  });

  it('checks at start, so a process already over the limit refuses new pods from the first collection', async () => {
    const { p, memory, last } = setup();
    memory.usedBytes = 90 * MIB;
    await p.start();
    await p.consume([node, pod('10.0.0.1')]);
    expect(last()).toEqual(['node']);
    await p.shutdown();
  });

  it('forgets pods not passed for a while', async () => {
    const { p, memory, clock, last } = setup();
    await p.start();
    await p.consume([pod('10.0.0.1')]);
    clock.at = FORGET_AFTER_MS + 1;
    memory.usedBytes = 90 * MIB;
    p.check();
    await p.consume([pod('10.0.0.1')]);
    expect(last()).toEqual([]);
    await p.shutdown();
  });

  it('can be shut down without start, and started and stopped twice', async () => {
    const { p } = setup();
    await p.shutdown();
    await p.start();
    await p.start();
    await p.shutdown();
    await p.shutdown();
  });
});
