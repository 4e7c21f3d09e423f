/**
 * The fake API server speaks what the real @kubernetes/client-node expects: these tests
 * drive it with the client's own KubeConfig, generated APIs and Watch.
 */
import fs from 'node:fs';
import path from 'node:path';
import { CoreV1Api, KubeConfig, Watch } from '@kubernetes/client-node';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';

import { type Certificates, FakeApiServer, makeCertificates, selector, pod } from './fake_api_server.js';

let certificates: Certificates;
let server: FakeApiServer;

beforeAll(() => {
  certificates = makeCertificates();
});
afterAll(() => fs.rmSync(certificates.dir, { recursive: true, force: true }));

async function withServer(run: (s: FakeApiServer, kc: KubeConfig) => Promise<void>): Promise<void> {
  server = await FakeApiServer.start({ certificates });
  const kc = new KubeConfig();
  kc.loadFromFile(server.kubeconfigPath);
  try {
    await run(server, kc);
  } finally {
    await server.close();
  }
}

interface Seen {
  events: Array<{ type: string; name: string; rv: string; code?: number }>;
  done: Promise<unknown>;
  abort(): void;
}

async function watch(kc: KubeConfig, path: string, query: Record<string, string>): Promise<Seen> {
  const events: Seen['events'] = [];
  let finish!: (err: unknown) => void;
  const done = new Promise<unknown>((resolve) => (finish = resolve));
  const controller = await new Watch(kc).watch(
    path,
    query,
    (type, obj: { metadata?: { name?: string; resourceVersion?: string }; code?: number }) =>
      events.push({ type, name: obj.metadata?.name ?? '', rv: obj.metadata?.resourceVersion ?? '', code: obj.code }),
    (err) => finish(err),
  );
  return { events, done, abort: () => controller.abort() };
}

async function until(check: () => boolean, what: string, timeoutMs = 5_000): Promise<void> {
  const end = Date.now() + timeoutMs;
  while (!check()) {
    if (Date.now() > end) throw new Error(`timed out waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 10));
  }
}

describe('fake API server', () => {
  it('serves HTTPS that the client trusts through the kubeconfig CA, with the bearer token', () =>
    withServer(async (s, kc) => {
      s.addPod({ name: 'web-1', ips: ['10.0.0.1'] });
      const list = await kc.makeApiClient(CoreV1Api).listPodForAllNamespaces();
      expect(list.items.map((p) => [p.metadata?.name, p.status?.podIP])).toEqual([['web-1', '10.0.0.1']]);
      expect(list.metadata?.resourceVersion).toBe(String(s.resourceVersion));
    }));

  it('refuses a client without the CA, and a client with a wrong token', () =>
    withServer(async (s) => {
      const noCa = new KubeConfig();
      noCa.loadFromString(s.kubeconfig().replace(/certificate-authority: .*/, 'insecure-skip-tls-verify: false'));
      await expect(noCa.makeApiClient(CoreV1Api).listPodForAllNamespaces()).rejects.toThrow();
      expect(s.requests).toHaveLength(0);

      const wrongToken = new KubeConfig();
      wrongToken.loadFromString(s.kubeconfig().replace(s.token, 'other-token'));
      await expect(wrongToken.makeApiClient(CoreV1Api).listPodForAllNamespaces()).rejects.toMatchObject({ code: 401 });
    }));

  it('pages a list from one snapshot with limit and continue', () =>
    withServer(async (s, kc) => {
      for (let i = 0; i < 5; i++) s.addPod({ name: `p${i}`, ips: [`10.0.0.${i}`] });
      const api = kc.makeApiClient(CoreV1Api);
      const first = await api.listPodForAllNamespaces({ limit: 2 });
      s.addPod({ name: 'late', ips: ['10.0.0.99'] });
      const second = await api.listPodForAllNamespaces({ limit: 2, _continue: first.metadata?._continue });
      const third = await api.listPodForAllNamespaces({ limit: 2, _continue: second.metadata?._continue });
      const names = [...first.items, ...second.items, ...third.items].map((p) => p.metadata?.name);
      expect(names).toEqual(['p0', 'p1', 'p2', 'p3', 'p4']);
      expect(third.metadata?._continue).toBeUndefined();
      expect(third.metadata?.resourceVersion).toBe(first.metadata?.resourceVersion);
      await expect(api.listPodForAllNamespaces({ limit: 2, _continue: 'stale' })).rejects.toMatchObject({
        code: 410,
      });
    }));

  it('filters lists by spec.nodeName and by labels', () =>
    withServer(async (s, kc) => {
      s.addPod({ name: 'a', node: 'node-a', labels: { tier: 'web' } });
      s.addPod({ name: 'b', node: 'node-b', labels: { tier: 'db' } });
      const api = kc.makeApiClient(CoreV1Api);
      const names = async (q: { fieldSelector?: string; labelSelector?: string }) =>
        (await api.listPodForAllNamespaces(q)).items.map((p) => p.metadata?.name);
      expect(await names({ fieldSelector: 'spec.nodeName=node-b' })).toEqual(['b']);
      expect(await names({ fieldSelector: 'spec.nodeName!=node-b' })).toEqual(['a']);
      expect(await names({ labelSelector: 'tier=web' })).toEqual(['a']);
      expect(await names({ labelSelector: '!tier' })).toEqual([]);
      await expect(names({ fieldSelector: 'status.phase=Running' })).rejects.toMatchObject({ code: 400 });
    }));

  it('streams changes after a resourceVersion, entering and leaving the selection', () =>
    withServer(async (s, kc) => {
      s.addPod({ name: 'old', node: 'node-a' });
      const from = String(s.resourceVersion);
      s.addPod({ name: 'web', node: 'node-a' });
      const w = await watch(kc, '/api/v1/pods', { resourceVersion: from, fieldSelector: 'spec.nodeName=node-a' });
      s.change('pods', 'default', 'web', (p) => ((p['status'] as Record<string, unknown>)['phase'] = 'Running'));
      s.addPod({ name: 'elsewhere', node: 'node-b' });
      s.change('pods', 'default', 'elsewhere', (p) => ((p['spec'] as Record<string, unknown>)['nodeName'] = 'node-a'));
      s.change('pods', 'default', 'web', (p) => ((p['spec'] as Record<string, unknown>)['nodeName'] = 'node-b'));
      s.delete('pods', 'default', 'old');
      await until(() => w.events.length === 5, 'five events');
      expect(w.events.map((e) => `${e.type} ${e.name}`)).toEqual([
        'ADDED web',
        'MODIFIED web',
        'ADDED elsewhere',
        'DELETED web',
        'DELETED old',
      ]);
      expect(w.events.at(-1)!.rv).toBe(String(s.resourceVersion));
      w.abort();
    }));

  it('answers a watch from a compacted version with a 410 ERROR event', () =>
    withServer(async (s, kc) => {
      s.addPod({ name: 'a' });
      const old = String(s.resourceVersion);
      s.addPod({ name: 'b' });
      s.compact('pods');
      const w = await watch(kc, '/api/v1/pods', { resourceVersion: old });
      await w.done;
      expect(w.events).toEqual([{ type: 'ERROR', name: '', rv: '', code: 410 }]);
    }));

  it('expires open watches with 410, drops their connections, or ends them cleanly', () =>
    withServer(async (s, kc) => {
      const rv = String(s.resourceVersion);
      const expired = await watch(kc, '/api/v1/pods', { resourceVersion: rv });
      await until(() => s.openWatches('pods') === 1, 'the watch');
      s.expireWatches();
      expect(await expired.done).toBeNull();
      expect(expired.events.map((e) => e.code)).toEqual([410]);

      const dropped = await watch(kc, '/api/v1/pods', { resourceVersion: rv });
      await until(() => s.openWatches('pods') === 1, 'the watch');
      expect(s.dropWatchConnections()).toBe(1);
      expect(await dropped.done).toBeInstanceOf(Error);

      const closed = await watch(kc, '/apis/apps/v1/replicasets', { resourceVersion: rv });
      await until(() => s.openWatches('replicasets') === 1, 'the watch');
      s.closeWatches();
      expect(await closed.done).toBeNull();
    }));

  it('fails requests on demand with the status given', () =>
    withServer(async (s, kc) => {
      s.failRequests(1, 503);
      const api = kc.makeApiClient(CoreV1Api);
      await expect(api.listPodForAllNamespaces()).rejects.toMatchObject({ code: 503 });
      await expect(api.listPodForAllNamespaces()).resolves.toBeDefined();
      expect(s.requests.map((r) => r.path)).toEqual(['/api/v1/pods', '/api/v1/pods']);
    }));

  it('serves Namespaces and Nodes as cluster objects: listed, selected by name, watched', () =>
    withServer(async (s, kc) => {
      s.addNamespace('shop', { labels: { team: 'checkout' } });
      s.addNode('node-a');
      s.addNode('node-b');
      s.addPod({ name: 'web', namespace: 'shop' });
      const api = kc.makeApiClient(CoreV1Api);
      const namespaces = await api.listNamespace();
      expect(
        namespaces.items.map((n) => [n.metadata?.name, n.metadata?.namespace, n.metadata?.labels?.['team']]),
      ).toEqual([['shop', undefined, 'checkout']]);
      expect(namespaces.kind).toBe('NamespaceList');
      const nodes = await api.listNode({ fieldSelector: 'metadata.name=node-b' });
      expect(nodes.items.map((n) => n.metadata?.name)).toEqual(['node-b']);
      // The namespaced pod path is still pods.
      expect((await api.listNamespacedPod({ namespace: 'shop' })).items.map((p) => p.metadata?.name)).toEqual(['web']);

      const w = await watch(kc, '/api/v1/nodes', {
        resourceVersion: nodes.metadata!.resourceVersion!,
        fieldSelector: 'metadata.name=node-a',
      });
      s.change('nodes', '', 'node-b', (n) => (n.metadata.labels = { zone: 'b' }));
      s.change('nodes', '', 'node-a', (n) => (n.metadata.labels = { zone: 'a' }));
      s.delete('nodes', '', 'node-a');
      await until(() => w.events.length === 2, 'two events');
      expect(w.events.map((e) => `${e.type} ${e.name}`)).toEqual(['MODIFIED node-a', 'DELETED node-a']);
      w.abort();
    }));

  it('holds requests unanswered until released', () =>
    withServer(async (s, kc) => {
      const release = s.holdRequests((r) => r.path === '/api/v1/nodes');
      const api = kc.makeApiClient(CoreV1Api);
      let answered = false;
      const held = api.listNode().then((l) => ((answered = true), l));
      await until(() => s.requestsFor('nodes').length === 1, 'the request');
      // Other requests are answered meanwhile.
      await expect(api.listNamespace()).resolves.toBeDefined();
      expect(answered).toBe(false);
      release();
      expect((await held).kind).toBe('NodeList');
    }));

  it('writes a kubeconfig file next to its certificates', () =>
    withServer(async (s) => {
      expect(path.dirname(s.kubeconfigPath)).toBe(certificates.dir);
      expect(fs.readFileSync(s.kubeconfigPath, 'utf8')).toContain(s.url);
    }));
});

describe('selectors', () => {
  const p = pod({ name: 'x', namespace: 'ns', node: 'n1', labels: { a: '1' } });
  it.each([
    ['spec.nodeName=n1', undefined, true],
    ['spec.nodeName==n2', undefined, false],
    ['metadata.namespace=ns,metadata.name=x', undefined, true],
    [undefined, 'a=1', true],
    [undefined, 'a!=1', false],
    [undefined, 'a', true],
    [undefined, 'b', false],
    [undefined, '!b', true],
  ])('%s %s', (fields, labels, want) => {
    expect(selector(fields, labels)(p)).toBe(want);
  });
});
