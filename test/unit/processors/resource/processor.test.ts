import { createHash } from 'node:crypto';
import { resourceFromAttributes } from '@opentelemetry/resources';
import { describe, expect, it } from 'vitest';

import { applyActions } from '../../../../src/processors/resource/actions.js';
import { configSchema } from '../../../../src/processors/resource/config.js';
import { ResourceProcessor } from '../../../../src/processors/resource/processor.js';
import type { ResourceMetrics } from '../../../../src/service/component.js';
import { parseEntry } from '../../componentconfig.js';

function actions(list: unknown[]) {
  const { value, errors } = parseEntry(configSchema, 'processors', 'resource', { attributes: list });
  expect(errors).toEqual([]);
  return value!.attributes;
}

describe('applyActions: the Collector attribute actions', () => {
  const base = { 'host.name': 'rack-12', present: 'old', 'k8s-cluster': 'blue' };

  it('insert sets only an absent key; update only a present one; upsert either way', () => {
    const got = applyActions(
      base,
      actions([
        { key: 'present', value: 'inserted', action: 'insert' },
        { key: 'absent', value: 'inserted', action: 'insert' },
        { key: 'present', value: 'updated', action: 'update' },
        { key: 'missing', value: 'updated', action: 'update' },
        { key: 'k8s.cluster.name', from_attribute: 'k8s-cluster', action: 'upsert' },
        { key: 'n', value: 3, action: 'upsert' },
      ]),
    );
    expect(got).toEqual({ ...base, present: 'updated', absent: 'inserted', 'k8s.cluster.name': 'blue', n: 3 });
  });

  it('from_attribute of an absent attribute sets nothing', () => {
    expect(applyActions(base, actions([{ key: 'x', from_attribute: 'nope', action: 'upsert' }]))).toEqual(base);
  });

  it('delete by key and by pattern; hash is SHA-256 hex; extract sets named groups; convert retypes', () => {
    const got = applyActions(
      { ...base, 'secret.a': 1, 'secret.b': 2 },
      actions([
        { key: 'present', action: 'delete' },
        { pattern: '^secret\\.', action: 'delete' },
        { key: 'k8s-cluster', action: 'hash' },
        { key: 'host.name', pattern: '^(?P<rack>[a-z]+)-(?P<slot>\\d+)$', action: 'extract' },
        { key: 'slot', converted_type: 'int', action: 'convert' },
      ]),
    );
    expect(got).toEqual({
      'host.name': 'rack-12',
      'k8s-cluster': createHash('sha256').update('blue').digest('hex'),
      rack: 'rack',
      slot: 12,
    });
  });

  it('does not change its input', () => {
    const input = { ...base };
    applyActions(input, actions([{ key: 'present', action: 'delete' }]));
    expect(input).toEqual(base);
  });
});

describe('ResourceProcessor', () => {
  it('passes the changed resource on, the same object for the same input resource', async () => {
    const seen: ResourceMetrics[][] = [];
    const p = new ResourceProcessor(
      { attributes: actions([{ key: 'k8s.cluster.name', value: 'prod', action: 'insert' }]) },
      { consume: async (m) => void seen.push(m) },
    );
    await p.shutdown();
    await p.start();
    await p.start();
    const rm: ResourceMetrics = { resource: resourceFromAttributes({ 'host.name': 'n1' }), scopeMetrics: [] };
    await p.consume([rm]);
    await p.consume([rm]);
    expect(seen[0]![0]!.resource.attributes).toEqual({ 'host.name': 'n1', 'k8s.cluster.name': 'prod' });
    expect(seen[1]![0]!.resource).toBe(seen[0]![0]!.resource);
    expect(rm.resource.attributes).toEqual({ 'host.name': 'n1' });
    await p.shutdown();
    await p.shutdown();
  });
});
