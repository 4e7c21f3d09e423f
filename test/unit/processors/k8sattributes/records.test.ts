import { describe, expect, it } from 'vitest';

import { canonicalAddress, toOwnedRecord, toPodRecord } from '../../../../src/processors/k8sattributes/records.js';
import { pod } from '../../../k8s/fake_api_server.js';

const keepNothing = { labels: [], annotations: [] };

describe('pod records', () => {
  it('keep only names, addresses, node, owner and the configured labels and annotations', () => {
    const raw = pod({
      name: 'web-1',
      namespace: 'shop',
      node: 'node-b',
      ips: ['10.0.0.1', 'fd00:0:0::1'],
      owner: { kind: 'ReplicaSet', name: 'web-59d8' },
      labels: { team: 'a', 'pod-template-hash': '59d8' },
      annotations: { owner: 'ops', note: 'x' },
    });
    const r = toPodRecord(raw, { labels: ['team', 'absent'], annotations: ['owner'] });
    expect(r).toEqual({
      metadata: { name: 'web-1', namespace: 'shop', resourceVersion: '' },
      uid: '',
      startTime: '',
      hostname: '',
      ips: ['10.0.0.1', 'fd00::1'],
      node: 'node-b',
      owner: { kind: 'ReplicaSet', name: 'web-59d8', uid: expect.any(String) as string },
      templateHash: '59d8',
      labels: { team: 'a' },
      annotations: { owner: 'ops' },
      hostNetwork: false,
      terminated: false,
    });
  });

  it('keep the keys a key_regex matches whole, the start time and the hostname', () => {
    const raw = pod({ name: 'web-1', labels: { 'app.kubernetes.io/name': 'web', 'x.app.kubernetes.io/name': 'no' } });
    raw['status'] = { ...(raw['status'] as object), startTime: '2026-11-29T21:00:00Z' };
    raw['spec'] = { ...(raw['spec'] as object), hostname: 'web-host' };
    const r = toPodRecord(raw, { labels: [], annotations: [], labelPatterns: ['app\\.kubernetes\\.io/.*'] });
    expect(r.labels).toEqual({ 'app.kubernetes.io/name': 'web' });
    expect(r.startTime).toBe('2026-11-29T21:00:00Z');
    expect(r.hostname).toBe('web-host');
    // The list's typed objects carry a Date.
    const typed = { ...raw, status: { startTime: new Date('2026-11-29T21:00:00Z') } };
    expect(toPodRecord(typed, keepNothing).startTime).toBe('2026-11-29T21:00:00Z');
  });

  it('give a hostNetwork pod no address', () => {
    const r = toPodRecord(pod({ name: 'proxy', ips: ['192.168.0.10'], hostNetwork: true }), keepNothing);
    expect(r.ips).toEqual([]);
    expect(r.hostNetwork).toBe(true);
  });

  it('read status.podIP when there is no status.podIPs, and nothing from a pod without one', () => {
    expect(toPodRecord({ metadata: { name: 'a' }, status: { podIP: '10.0.0.9' } }, keepNothing).ips).toEqual([
      '10.0.0.9',
    ]);
    expect(toPodRecord({ metadata: { name: 'a' }, status: { phase: 'Pending' } }, keepNothing).ips).toEqual([]);
  });

  it('mark Succeeded and Failed pods as finished', () => {
    expect(toPodRecord(pod({ name: 'a', ips: ['10.0.0.1'], phase: 'Succeeded' }), keepNothing).terminated).toBe(true);
    expect(toPodRecord(pod({ name: 'a', ips: ['10.0.0.1'], phase: 'Failed' }), keepNothing).terminated).toBe(true);
    expect(toPodRecord(pod({ name: 'a', ips: ['10.0.0.1'] }), keepNothing).terminated).toBe(false);
  });

  it('take the controlling owner, else the first', () => {
    const refs = [
      { kind: 'ConfigMap', name: 'cm' },
      { kind: 'StatefulSet', name: 'db', controller: true },
    ];
    expect(toPodRecord({ metadata: { name: 'a', ownerReferences: refs } }, keepNothing).owner).toEqual({
      kind: 'StatefulSet',
      name: 'db',
    });
    expect(toOwnedRecord({ metadata: { name: 'j', ownerReferences: [refs[0]] } }).owner).toEqual({
      kind: 'ConfigMap',
      name: 'cm',
    });
    expect(toOwnedRecord({ metadata: { name: 'j', namespace: 'n', resourceVersion: '7' } })).toEqual({
      metadata: { name: 'j', namespace: 'n', resourceVersion: '7' },
      owner: undefined,
    });
  });

  it.each([
    ['10.0.0.1', '10.0.0.1'],
    ['FD00:0000:0000:0000:0000:0000:0000:0001', 'fd00::1'],
    ['2001:db8:0:0:1:0:0:1', '2001:db8::1:0:0:1'],
    ['::1', '::1'],
    ['not-an-address', 'not-an-address'],
  ])('canonical address of %s is %s', (input, want) => {
    expect(canonicalAddress(input)).toBe(want);
  });
});
