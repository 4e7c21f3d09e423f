import { describe, expect, it } from 'vitest';

import {
  AttributeBuilder,
  noOwners,
  type OwnerLookup,
  workloadOf,
} from '../../../../src/processors/k8sattributes/attributes.js';
import type { OwnedRecord, PodRecord } from '../../../../src/processors/k8sattributes/records.js';

function pod(owner?: { kind: string; name: string }, templateHash?: string): PodRecord {
  return {
    metadata: { name: 'p', namespace: 'ns', resourceVersion: '1' },
    uid: 'u',
    startTime: '',
    hostname: '',
    ips: ['10.0.0.1'],
    node: 'n',
    owner,
    templateHash,
    labels: { team: 'a' },
    annotations: { owner: 'ops' },
    hostNetwork: false,
    terminated: false,
  };
}

function owners(
  rs: Record<string, OwnedRecord['owner']>,
  jobs: Record<string, OwnedRecord['owner']> = {},
): OwnerLookup {
  const rec = (name: string, owner: OwnedRecord['owner']): OwnedRecord => ({
    metadata: { name, namespace: 'ns', resourceVersion: '1' },
    owner,
  });
  return {
    replicaSet: (ns, name) => (ns === 'ns' && name in rs ? rec(name, rs[name]) : undefined),
    job: (ns, name) => (ns === 'ns' && name in jobs ? rec(name, jobs[name]) : undefined),
  };
}

describe('workloadOf', () => {
  it('is the pod itself without an owner', () => {
    expect(workloadOf(pod(), noOwners)).toEqual({ kind: 'Pod', name: 'p' });
  });

  it('goes through a known ReplicaSet to its owner', () => {
    const o = owners({ 'web-59d8': { kind: 'Deployment', name: 'web' }, 'r-1': { kind: 'Rollout', name: 'r' } });
    expect(workloadOf(pod({ kind: 'ReplicaSet', name: 'web-59d8' }), o)).toEqual({
      kind: 'Deployment',
      name: 'web',
      deployment: 'web',
    });
    expect(workloadOf(pod({ kind: 'ReplicaSet', name: 'r-1' }), o)).toEqual({ kind: 'Rollout', name: 'r' });
    expect(workloadOf(pod({ kind: 'ReplicaSet', name: 'bare' }), owners({ bare: undefined }))).toEqual({
      kind: 'ReplicaSet',
      name: 'bare',
    });
  });

  it('names the Deployment from an unknown ReplicaSet only when the name ends with the pod-template-hash', () => {
    expect(workloadOf(pod({ kind: 'ReplicaSet', name: 'web-59d8' }, '59d8'), noOwners)).toEqual({
      kind: 'Deployment',
      name: 'web',
      deployment: 'web',
    });
    expect(workloadOf(pod({ kind: 'ReplicaSet', name: 'web-59d8' }, 'abcd'), noOwners)).toEqual({
      kind: 'ReplicaSet',
      name: 'web-59d8',
    });
    expect(workloadOf(pod({ kind: 'ReplicaSet', name: '-59d8' }, '59d8'), noOwners).kind).toBe('ReplicaSet');
    expect(workloadOf(pod({ kind: 'ReplicaSet', name: 'web-59d8' }), noOwners).kind).toBe('ReplicaSet');
  });

  it('goes through a known Job to its CronJob, and leaves an unknown Job as it is', () => {
    const o = owners({}, { 'report-1': { kind: 'CronJob', name: 'report' } });
    expect(workloadOf(pod({ kind: 'Job', name: 'report-1' }), o)).toEqual({
      kind: 'CronJob',
      name: 'report',
      cronJob: 'report',
    });
    expect(workloadOf(pod({ kind: 'Job', name: 'report-2' }), o)).toEqual({ kind: 'Job', name: 'report-2' });
  });

  it('is any other owner itself', () => {
    expect(workloadOf(pod({ kind: 'Node', name: 'n1' }), noOwners)).toEqual({ kind: 'Node', name: 'n1' });
  });
});

describe('AttributeBuilder', () => {
  it('adds what extract.metadata lists and the workload pair, with labels and annotations under their names', () => {
    const b = new AttributeBuilder(
      ['k8s.pod.name', 'k8s.replicaset.name'],
      [{ key: 'team', key_regex: undefined, tag_name: undefined, from: 'pod' }],
      [{ key: 'owner', key_regex: undefined, tag_name: 'owned.by', from: 'pod' }],
    );
    expect(b.resource(pod({ kind: 'ReplicaSet', name: 'web-59d8' }), noOwners)).toEqual({
      'k8s.pod.name': 'p',
      'k8s.replicaset.name': 'web-59d8',
      'k8s.workload.kind': 'ReplicaSet',
      'k8s.workload.name': 'web-59d8',
      'k8s.pod.labels.team': 'a',
      'owned.by': 'ops',
    });
  });

  it('records the workload pair whatever extract.metadata lists (Retina reads it)', () => {
    const b = new AttributeBuilder(['k8s.pod.name', 'k8s.statefulset.name'], [], []);
    expect(b.resource(pod({ kind: 'StatefulSet', name: 'db' }), noOwners)).toEqual({
      'k8s.pod.name': 'p',
      'k8s.statefulset.name': 'db',
      'k8s.workload.kind': 'StatefulSet',
      'k8s.workload.name': 'db',
    });
  });

  it('names a peer by pod, namespace and workload', () => {
    const b = new AttributeBuilder([], [], []);
    expect(b.peer(pod({ kind: 'DaemonSet', name: 'agent' }), noOwners)).toEqual({
      'peer.k8s.pod.name': 'p',
      'peer.k8s.namespace.name': 'ns',
      'peer.k8s.workload.kind': 'DaemonSet',
      'peer.k8s.workload.name': 'agent',
    });
  });
});
