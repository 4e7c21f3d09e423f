/**
 * A fake Kubernetes API server on the wire, for tests that run the real
 * @kubernetes/client-node against it: HTTPS with a CA made for the run (openssl), a
 * kubeconfig that trusts it, bearer-token auth, and the list and watch protocol for pods,
 * ReplicaSets, Jobs, and the cluster-scoped Namespaces and Nodes:
 *
 * - GET /api/v1/pods, /apis/apps/v1/replicasets, /apis/batch/v1/jobs (and the namespaced
 *   forms), /api/v1/namespaces and /api/v1/nodes list objects with the list's resourceVersion, `fieldSelector` (spec.nodeName,
 *   metadata.name, metadata.namespace; = == !=), `labelSelector` (k=v, k!=v, k, !k) and
 *   pages (`limit` / `continue`, a consistent snapshot as the real server keeps).
 * - `?watch=true&resourceVersion=N` streams NDJSON events after N: ADDED, MODIFIED,
 *   DELETED, and an object that enters or leaves the selection is ADDED or DELETED, as the
 *   real server does. A resourceVersion older than the history kept is answered with an
 *   ERROR event carrying a 410 Status.
 *
 * Faults on demand: expireWatches() (410 to open watches, history dropped, so they must
 * relist), dropWatchConnections() (sockets destroyed mid-stream), failRequests() (HTTP
 * errors), closeWatches() (a clean end of stream, as the server's own timeout does), and
 * holdRequests() (requests left unanswered until released, as an API server that hangs).
 */
import { execFileSync } from 'node:child_process';
import { randomUUID } from 'node:crypto';
import fs from 'node:fs';
import https from 'node:https';
import type { IncomingMessage, ServerResponse } from 'node:http';
import type { AddressInfo, Socket } from 'node:net';
import os from 'node:os';
import path from 'node:path';
import { stringify } from 'yaml';

export type ResourceKind = 'pods' | 'replicasets' | 'jobs' | 'namespaces' | 'nodes';

/** Objects that belong to no namespace: stored and served without metadata.namespace. */
const CLUSTER_SCOPED: ReadonlySet<ResourceKind> = new Set(['namespaces', 'nodes']);

/** Any Kubernetes object, as JSON. */
export type KubeObject = Record<string, unknown> & {
  metadata: {
    name: string;
    namespace: string;
    uid?: string;
    resourceVersion?: string;
    labels?: Record<string, string>;
    [key: string]: unknown;
  };
};

export interface RecordedRequest {
  method: string;
  path: string;
  query: Record<string, string>;
  watch: boolean;
}

interface WatchEvent {
  rv: number;
  type: 'ADDED' | 'MODIFIED' | 'DELETED';
  object: KubeObject;
  /** The object before this change (MODIFIED only), to tell entering and leaving a selection. */
  previous?: KubeObject;
}

interface OpenWatch {
  kind: ResourceKind;
  namespace: string | undefined;
  selects: (o: KubeObject) => boolean;
  res: ServerResponse;
}

const KINDS: Record<ResourceKind, { apiVersion: string; kind: string; listKind: string }> = {
  pods: { apiVersion: 'v1', kind: 'Pod', listKind: 'PodList' },
  replicasets: { apiVersion: 'apps/v1', kind: 'ReplicaSet', listKind: 'ReplicaSetList' },
  jobs: { apiVersion: 'batch/v1', kind: 'Job', listKind: 'JobList' },
  namespaces: { apiVersion: 'v1', kind: 'Namespace', listKind: 'NamespaceList' },
  nodes: { apiVersion: 'v1', kind: 'Node', listKind: 'NodeList' },
};

const ROUTE = /^\/(?:api\/v1|apis\/apps\/v1|apis\/batch\/v1)(?:\/namespaces\/([^/]+))?\/(pods|replicasets|jobs)$/;
const CLUSTER_ROUTE = /^\/api\/v1\/(namespaces|nodes)$/;
const GROUP_OF: Record<ResourceKind, string> = {
  pods: '/api/v1',
  replicasets: '/apis/apps/v1',
  jobs: '/apis/batch/v1',
  namespaces: '/api/v1',
  nodes: '/api/v1',
};

export interface Certificates {
  dir: string;
  ca: string;
  cert: string;
  key: string;
}

/** A CA and a server certificate for 127.0.0.1 and localhost, valid for two days. */
export function makeCertificates(): Certificates {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'fake-kube-'));
  const file = (name: string) => path.join(dir, name);
  /** Runs openssl; a word `@name` is the file `name` in the certificates' directory. */
  const openssl = (command: string) =>
    execFileSync(
      'openssl',
      command.split(/\s+/).map((w) => (w.startsWith('@') ? file(w.slice(1)) : w)),
      { stdio: ['ignore', 'ignore', 'pipe'] },
    );
  openssl('genpkey -algorithm EC -pkeyopt ec_paramgen_curve:P-256 -out @ca.key');
  openssl(
    'req -x509 -new -key @ca.key -sha256 -days 2 -subj /CN=fake-kubernetes-ca ' +
      '-addext basicConstraints=critical,CA:TRUE -addext keyUsage=critical,keyCertSign,cRLSign -out @ca.crt',
  );
  openssl('genpkey -algorithm EC -pkeyopt ec_paramgen_curve:P-256 -out @server.key');
  openssl('req -new -key @server.key -subj /CN=127.0.0.1 -out @server.csr');
  fs.writeFileSync(
    file('server.ext'),
    [
      'basicConstraints=CA:FALSE',
      'keyUsage=critical,digitalSignature',
      'extendedKeyUsage=serverAuth',
      'subjectAltName=IP:127.0.0.1,DNS:localhost',
    ].join('\n'),
  );
  openssl(
    'x509 -req -in @server.csr -CA @ca.crt -CAkey @ca.key -CAcreateserial -days 2 -sha256 ' +
      '-extfile @server.ext -out @server.crt',
  );
  return { dir, ca: file('ca.crt'), cert: file('server.crt'), key: file('server.key') };
}

export interface FakeApiServerOptions {
  /** Reuse certificates (making them takes a few hundred ms). */
  certificates?: Certificates;
  /** The bearer token the kubeconfig carries and the server requires. */
  token?: string;
}

export class FakeApiServer {
  readonly requests: RecordedRequest[] = [];
  private readonly objects: Record<ResourceKind, Map<string, KubeObject>> = {
    pods: new Map(),
    replicasets: new Map(),
    jobs: new Map(),
    namespaces: new Map(),
    nodes: new Map(),
  };
  private readonly history: Record<ResourceKind, WatchEvent[]> = {
    pods: [],
    replicasets: [],
    jobs: [],
    namespaces: [],
    nodes: [],
  };
  /** Watches from a resourceVersion below this get 410 Gone: the history before it is gone. */
  private compactedAt: Record<ResourceKind, number> = { pods: 0, replicasets: 0, jobs: 0, namespaces: 0, nodes: 0 };
  private held: Array<{ match: (r: RecordedRequest) => boolean; waiting: Array<() => void> }> = [];
  private revision = 1000;
  private readonly watches = new Set<OpenWatch>();
  private readonly snapshots = new Map<string, { items: KubeObject[]; rv: number; offset: number }>();
  private failures: Array<{ status: number; match: (r: RecordedRequest) => boolean }> = [];
  private readonly sockets = new Set<Socket>();
  private readonly ownsCertificates: boolean;
  readonly kubeconfigPath: string;
  readonly url: string;

  private constructor(
    private readonly server: https.Server,
    readonly certificates: Certificates,
    readonly token: string,
    ownsCertificates: boolean,
  ) {
    this.ownsCertificates = ownsCertificates;
    const { port } = server.address() as AddressInfo;
    this.url = `https://127.0.0.1:${port}`;
    this.kubeconfigPath = path.join(certificates.dir, `kubeconfig-${port}.yaml`);
    fs.writeFileSync(this.kubeconfigPath, this.kubeconfig());
  }

  static async start(options: FakeApiServerOptions = {}): Promise<FakeApiServer> {
    const certificates = options.certificates ?? makeCertificates();
    const server = https.createServer({
      cert: fs.readFileSync(certificates.cert),
      key: fs.readFileSync(certificates.key),
    });
    await new Promise<void>((resolve, reject) => {
      server.once('error', reject);
      server.listen(0, '127.0.0.1', () => resolve());
    });
    const fake = new FakeApiServer(server, certificates, options.token ?? 'fake-token', !options.certificates);
    server.on('request', (req, res) => fake.handle(req, res));
    server.on('connection', (socket: Socket) => {
      fake.sockets.add(socket);
      socket.on('close', () => fake.sockets.delete(socket));
    });
    return fake;
  }

  /** A kubeconfig with the CA, the server and the token; `context` is its only context. */
  kubeconfig(context = 'fake'): string {
    return stringify({
      apiVersion: 'v1',
      kind: 'Config',
      clusters: [{ name: 'fake', cluster: { server: this.url, 'certificate-authority': this.certificates.ca } }],
      users: [{ name: 'fake', user: { token: this.token } }],
      contexts: [{ name: context, context: { cluster: 'fake', user: 'fake' } }],
      'current-context': context,
    });
  }

  get resourceVersion(): number {
    return this.revision;
  }

  // ---- objects -------------------------------------------------------------------------

  /** Creates or replaces an object; its watchers see ADDED or MODIFIED. */
  apply(kind: ResourceKind, object: KubeObject): KubeObject {
    if (CLUSTER_SCOPED.has(kind)) {
      const metadata: Partial<KubeObject['metadata']> = { ...object.metadata };
      delete metadata.namespace;
      object = { ...object, metadata: metadata as KubeObject['metadata'] };
    }
    const key = `${object.metadata.namespace ?? ''}/${object.metadata.name}`;
    const previous = this.objects[kind].get(key);
    const rv = ++this.revision;
    const stored: KubeObject = structuredClone({
      apiVersion: KINDS[kind].apiVersion,
      kind: KINDS[kind].kind,
      ...object,
      metadata: {
        uid: previous?.metadata.uid ?? randomUUID(),
        creationTimestamp: new Date(0).toISOString(),
        ...object.metadata,
        resourceVersion: String(rv),
      },
    });
    this.objects[kind].set(key, stored);
    this.record(kind, { rv, type: previous ? 'MODIFIED' : 'ADDED', object: stored, previous });
    return stored;
  }

  /** Changes a stored object in place; throws if there is none. */
  change(kind: ResourceKind, namespace: string, name: string, edit: (o: KubeObject) => void): KubeObject {
    const current = this.objects[kind].get(`${namespace}/${name}`);
    if (!current) throw new Error(`no ${kind} ${namespace}/${name}`);
    const copy = structuredClone(current);
    edit(copy);
    return this.apply(kind, copy);
  }

  delete(kind: ResourceKind, namespace: string, name: string): void {
    const key = `${namespace}/${name}`;
    const current = this.objects[kind].get(key);
    if (!current) throw new Error(`no ${kind} ${key}`);
    this.objects[kind].delete(key);
    const rv = ++this.revision;
    const object = { ...current, metadata: { ...current.metadata, resourceVersion: String(rv) } };
    this.record(kind, { rv, type: 'DELETED', object });
  }

  get(kind: ResourceKind, namespace: string, name: string): KubeObject | undefined {
    return this.objects[kind].get(`${namespace}/${name}`);
  }

  count(kind: ResourceKind): number {
    return this.objects[kind].size;
  }

  /** A Namespace (cluster-scoped: get, change and delete it with namespace ''). */
  addNamespace(
    name: string,
    meta: { labels?: Record<string, string>; annotations?: Record<string, string> } = {},
  ): KubeObject {
    return this.apply('namespaces', {
      metadata: {
        name,
        namespace: '',
        labels: { 'kubernetes.io/metadata.name': name, ...meta.labels },
        ...(meta.annotations ? { annotations: meta.annotations } : {}),
      },
      spec: { finalizers: ['kubernetes'] },
      status: { phase: 'Active' },
    });
  }

  /** A Node (cluster-scoped: get, change and delete it with namespace ''), with a real one's fields. */
  addNode(
    name: string,
    meta: { labels?: Record<string, string>; annotations?: Record<string, string> } = {},
  ): KubeObject {
    return this.apply('nodes', {
      metadata: {
        name,
        namespace: '',
        labels: {
          'kubernetes.io/hostname': name,
          'kubernetes.io/os': 'linux',
          'kubernetes.io/arch': 'amd64',
          ...meta.labels,
        },
        annotations: { 'node.alpha.kubernetes.io/ttl': '0', ...meta.annotations },
      },
      spec: { podCIDR: '10.244.0.0/24', podCIDRs: ['10.244.0.0/24'] },
      status: {
        addresses: [
          { type: 'InternalIP', address: '192.168.0.10' },
          { type: 'Hostname', address: name },
        ],
        capacity: { cpu: '4', memory: '16393364Ki', pods: '110' },
        conditions: [{ type: 'Ready', status: 'True', reason: 'KubeletReady' }],
        nodeInfo: {
          kubeletVersion: 'v1.31.0',
          osImage: 'Debian GNU/Linux 12',
          containerRuntimeVersion: 'containerd://1.7',
        },
      },
    });
  }

  addPod(spec: PodSpec): KubeObject {
    return this.apply('pods', pod(spec));
  }

  addReplicaSet(namespace: string, name: string, deployment?: string): KubeObject {
    return this.apply('replicasets', {
      metadata: {
        name,
        namespace,
        ...(deployment ? { ownerReferences: [controllerRef('Deployment', deployment)] } : {}),
      },
      spec: { replicas: 1 },
    });
  }

  addJob(namespace: string, name: string, cronJob?: string): KubeObject {
    return this.apply('jobs', {
      metadata: { name, namespace, ...(cronJob ? { ownerReferences: [controllerRef('CronJob', cronJob)] } : {}) },
      spec: { completions: 1 },
    });
  }

  private record(kind: ResourceKind, event: WatchEvent): void {
    this.history[kind].push(event);
    for (const w of this.watches) if (w.kind === kind) this.send(w, event);
  }

  /** Writes an event to a watch as the real server does, given the watch's selection. */
  private send(w: OpenWatch, event: WatchEvent): void {
    const inNamespace = (o: KubeObject) => w.namespace === undefined || o.metadata.namespace === w.namespace;
    const selected = (o: KubeObject | undefined) => !!o && inNamespace(o) && w.selects(o);
    const now = selected(event.object);
    let type: string | undefined;
    if (event.type === 'MODIFIED') {
      const before = selected(event.previous);
      type = before && now ? 'MODIFIED' : now ? 'ADDED' : before ? 'DELETED' : undefined;
    } else if (now) {
      type = event.type;
    }
    if (type) w.res.write(JSON.stringify({ type, object: event.object }) + '\n');
  }

  // ---- faults --------------------------------------------------------------------------

  /**
   * Forgets the history (as etcd compaction does) and answers every open watch with a 410
   * ERROR event before ending it, so that clients must list again.
   */
  expireWatches(kind?: ResourceKind): void {
    for (const k of Object.keys(this.history) as ResourceKind[]) {
      if (kind && k !== kind) continue;
      this.compact(k);
    }
    for (const w of [...this.watches]) {
      if (kind && w.kind !== kind) continue;
      w.res.end(JSON.stringify({ type: 'ERROR', object: goneStatus() }) + '\n');
      this.watches.delete(w);
    }
  }

  /**
   * Forgets the history without telling anyone, as etcd compaction does: a watch from a
   * version older than the current one gets 410.
   */
  compact(kind: ResourceKind): void {
    this.history[kind] = [];
    this.compactedAt[kind] = this.revision;
  }

  /** Destroys the connections of the open watches, mid-stream, as a network failure would. */
  dropWatchConnections(kind?: ResourceKind): number {
    let dropped = 0;
    for (const w of [...this.watches]) {
      if (kind && w.kind !== kind) continue;
      w.res.socket?.destroy();
      this.watches.delete(w);
      dropped++;
    }
    return dropped;
  }

  /** Ends the open watches cleanly, as the server does when a watch's timeout is up. */
  closeWatches(kind?: ResourceKind): void {
    for (const w of [...this.watches]) {
      if (kind && w.kind !== kind) continue;
      w.res.end();
      this.watches.delete(w);
    }
  }

  /** Answers the next `times` requests that match with an HTTP error status. */
  failRequests(times: number, status = 500, match: (r: RecordedRequest) => boolean = () => true): void {
    for (let i = 0; i < times; i++) this.failures.push({ status, match });
  }

  /**
   * Leaves the requests that match unanswered (not even headers) until the returned
   * function is called, as an API server that hangs; they are then answered as usual.
   */
  holdRequests(match: (r: RecordedRequest) => boolean): () => void {
    const hold = { match, waiting: [] as Array<() => void> };
    this.held.push(hold);
    return () => {
      this.held = this.held.filter((h) => h !== hold);
      for (const go of hold.waiting.splice(0)) go();
    };
  }

  openWatches(kind?: ResourceKind): number {
    return [...this.watches].filter((w) => !kind || w.kind === kind).length;
  }

  /** Requests for one resource kind, lists and watches. */
  requestsFor(kind: ResourceKind): RecordedRequest[] {
    // /api/v1/namespaces/<ns>/pods ends with /pods, never with /namespaces.
    return this.requests.filter((r) => r.path.endsWith(`/${kind}`));
  }

  async close(): Promise<void> {
    for (const w of this.watches) w.res.destroy();
    this.watches.clear();
    const closed = new Promise<void>((resolve) => this.server.close(() => resolve()));
    for (const s of this.sockets) s.destroy();
    this.server.closeAllConnections();
    await closed;
    if (this.ownsCertificates) fs.rmSync(this.certificates.dir, { recursive: true, force: true });
    else fs.rmSync(this.kubeconfigPath, { force: true });
  }

  // ---- HTTP ----------------------------------------------------------------------------

  private handle(req: IncomingMessage, res: ServerResponse): void {
    const url = new URL(req.url ?? '/', this.url);
    const query = Object.fromEntries(url.searchParams);
    const request: RecordedRequest = {
      method: req.method ?? 'GET',
      path: url.pathname,
      query,
      watch: query['watch'] === 'true' || query['watch'] === '1',
    };
    this.requests.push(request);
    const hold = this.held.find((h) => h.match(request));
    if (hold) {
      hold.waiting.push(() => this.answer(req, res, url, request));
      return;
    }
    this.answer(req, res, url, request);
  }

  private answer(req: IncomingMessage, res: ServerResponse, url: URL, request: RecordedRequest): void {
    if (res.destroyed) return;
    const query = request.query;
    if (req.headers.authorization !== `Bearer ${this.token}`) return status(res, 401, 'Unauthorized', 'Unauthorized');
    const failure = this.failures.findIndex((f) => f.match(request));
    if (failure >= 0) {
      const code = this.failures[failure]!.status;
      this.failures.splice(failure, 1);
      return status(res, code, 'InternalError', `injected failure ${code}`);
    }
    const clusterRoute = CLUSTER_ROUTE.exec(url.pathname);
    const route = clusterRoute ? [url.pathname, undefined, clusterRoute[1]] : ROUTE.exec(url.pathname);
    if (!route || req.method !== 'GET')
      return status(res, 404, 'NotFound', `the server could not find ${url.pathname}`);
    const kind = route[2] as ResourceKind;
    if (!url.pathname.startsWith(GROUP_OF[kind])) return status(res, 404, 'NotFound', `no ${kind} in that API group`);
    const namespace = route[1] ?? undefined;
    let selects: (o: KubeObject) => boolean;
    try {
      selects = selector(query['fieldSelector'], query['labelSelector']);
    } catch (err) {
      return status(res, 400, 'BadRequest', (err as Error).message);
    }
    if (request.watch) this.watch(kind, namespace, selects, query['resourceVersion'], res);
    else this.list(kind, namespace, selects, query, res);
  }

  private list(
    kind: ResourceKind,
    namespace: string | undefined,
    selects: (o: KubeObject) => boolean,
    query: Record<string, string>,
    res: ServerResponse,
  ): void {
    let snapshot: { items: KubeObject[]; rv: number; offset: number };
    const token = query['continue'];
    if (token) {
      const found = this.snapshots.get(token);
      if (!found) return status(res, 410, 'Expired', 'the provided continue parameter is too old');
      this.snapshots.delete(token);
      snapshot = found;
    } else {
      const items = [...this.objects[kind].values()].filter(
        (o) => (namespace === undefined || o.metadata.namespace === namespace) && selects(o),
      );
      snapshot = { items, rv: this.revision, offset: 0 };
    }
    const limit = Number(query['limit'] ?? 0);
    const end = limit > 0 ? Math.min(snapshot.items.length, snapshot.offset + limit) : snapshot.items.length;
    const metadata: Record<string, unknown> = { resourceVersion: String(snapshot.rv) };
    if (end < snapshot.items.length) {
      const next = randomUUID();
      this.snapshots.set(next, { ...snapshot, offset: end });
      metadata['continue'] = next;
      metadata['remainingItemCount'] = snapshot.items.length - end;
    }
    const body = {
      apiVersion: KINDS[kind].apiVersion,
      kind: KINDS[kind].listKind,
      metadata,
      items: snapshot.items.slice(snapshot.offset, end),
    };
    res.writeHead(200, { 'content-type': 'application/json' }).end(JSON.stringify(body));
  }

  private watch(
    kind: ResourceKind,
    namespace: string | undefined,
    selects: (o: KubeObject) => boolean,
    resourceVersion: string | undefined,
    res: ServerResponse,
  ): void {
    res.writeHead(200, { 'content-type': 'application/json', 'transfer-encoding': 'chunked' });
    res.flushHeaders();
    const w: OpenWatch = { kind, namespace, selects, res };
    const from = Number(resourceVersion || 0);
    if (!resourceVersion || resourceVersion === '0') {
      // Without a version the real server starts with the current state, as ADDED events.
      for (const o of this.objects[kind].values()) {
        this.send(w, { rv: Number(o.metadata.resourceVersion), type: 'ADDED', object: o });
      }
    } else if (from < this.compactedAt[kind]) {
      res.end(JSON.stringify({ type: 'ERROR', object: goneStatus(from) }) + '\n');
      return;
    } else {
      for (const event of this.history[kind]) if (event.rv > from) this.send(w, event);
    }
    this.watches.add(w);
    res.on('close', () => this.watches.delete(w));
  }
}

function status(res: ServerResponse, code: number, reason: string, message: string): void {
  res
    .writeHead(code, { 'content-type': 'application/json' })
    .end(JSON.stringify({ kind: 'Status', apiVersion: 'v1', metadata: {}, status: 'Failure', message, reason, code }));
}

function goneStatus(from?: number) {
  return {
    kind: 'Status',
    apiVersion: 'v1',
    metadata: {},
    status: 'Failure',
    message: from === undefined ? 'too old resource version' : `too old resource version: ${from}`,
    reason: 'Expired',
    code: 410,
  };
}

/** Field and label selectors, the subset clients use to narrow pod watches. */
export function selector(fieldSelector?: string, labelSelector?: string): (o: KubeObject) => boolean {
  const tests: Array<(o: KubeObject) => boolean> = [];
  for (const term of (fieldSelector ?? '').split(',').filter(Boolean)) {
    const m = /^([\w.]+)(==|=|!=)(.*)$/.exec(term);
    if (!m) throw new Error(`invalid field selector: ${term}`);
    const [, field, op, value] = m as unknown as [string, string, string, string];
    const read = FIELDS[field];
    if (!read) throw new Error(`field label not supported: ${field}`);
    tests.push(op === '!=' ? (o) => read(o) !== value : (o) => read(o) === value);
  }
  for (const term of (labelSelector ?? '').split(',').filter(Boolean)) {
    const m = /^(!?)([\w./-]+)(?:(==|=|!=)(.*))?$/.exec(term.trim());
    if (!m) throw new Error(`invalid label selector: ${term}`);
    const [, not, key, op, value] = m as unknown as [string, string, string, string | undefined, string | undefined];
    const labels = (o: KubeObject) => o.metadata.labels ?? {};
    if (op === undefined) tests.push(not ? (o) => !(key in labels(o)) : (o) => key in labels(o));
    else if (op === '!=') tests.push((o) => labels(o)[key] !== value);
    else tests.push((o) => labels(o)[key] === value);
  }
  return (o) => tests.every((t) => t(o));
}

const FIELDS: Record<string, (o: KubeObject) => string> = {
  'spec.nodeName': (o) => String((o['spec'] as { nodeName?: string } | undefined)?.nodeName ?? ''),
  'metadata.name': (o) => o.metadata.name,
  'metadata.namespace': (o) => o.metadata.namespace,
};

function controllerRef(kind: string, name: string) {
  const apiVersion = kind === 'CronJob' || kind === 'Job' ? 'batch/v1' : 'apps/v1';
  return { apiVersion, kind, name, uid: randomUUID(), controller: true, blockOwnerDeletion: true };
}

export interface PodSpec {
  name: string;
  namespace?: string;
  node?: string;
  /** status.podIPs, the first also status.podIP; none for a pod not yet running. */
  ips?: string[];
  owner?: { kind: string; name: string };
  labels?: Record<string, string>;
  annotations?: Record<string, string>;
  hostNetwork?: boolean;
  phase?: string;
}

/**
 * A pod as the API returns it, with the fields a real one carries (containers, conditions,
 * statuses), so sizes are realistic.
 */
export function pod(spec: PodSpec): KubeObject {
  const ips = spec.ips ?? [];
  const labels = { app: spec.name.replace(/-[a-z0-9]+$/, ''), ...spec.labels };
  return {
    metadata: {
      name: spec.name,
      namespace: spec.namespace ?? 'default',
      labels,
      annotations: { 'kubectl.kubernetes.io/restartedAt': '2024-01-01T00:00:00Z', ...spec.annotations },
      ...(spec.owner ? { ownerReferences: [controllerRef(spec.owner.kind, spec.owner.name)] } : {}),
      managedFields: [
        {
          manager: 'kube-controller-manager',
          operation: 'Update',
          apiVersion: 'v1',
          fieldsType: 'FieldsV1',
          fieldsV1: { 'f:metadata': { 'f:labels': { '.': {}, 'f:app': {} } }, 'f:spec': { 'f:containers': {} } },
        },
      ],
    },
    spec: {
      nodeName: spec.node ?? 'node-a',
      hostNetwork: spec.hostNetwork ?? false,
      serviceAccountName: 'default',
      restartPolicy: 'Always',
      dnsPolicy: 'ClusterFirst',
      containers: [
        {
          name: 'app',
          image: `registry.example.com/${labels.app}:1.2.3`,
          ports: [{ containerPort: 8080, protocol: 'TCP' }],
          resources: { requests: { cpu: '100m', memory: '128Mi' }, limits: { memory: '256Mi' } },
          env: [{ name: 'POD_NAME', valueFrom: { fieldRef: { fieldPath: 'metadata.name' } } }],
          volumeMounts: [{ name: 'kube-api-access', mountPath: '/var/run/secrets/kubernetes.io/serviceaccount' }],
        },
      ],
      volumes: [{ name: 'kube-api-access', projected: { sources: [{ serviceAccountToken: { path: 'token' } }] } }],
      tolerations: [{ key: 'node.kubernetes.io/not-ready', operator: 'Exists', effect: 'NoExecute' }],
    },
    status: {
      phase: spec.phase ?? (ips.length ? 'Running' : 'Pending'),
      hostIP: '192.168.0.10',
      ...(ips.length ? { podIP: ips[0], podIPs: ips.map((ip) => ({ ip })) } : {}),
      conditions: ['Initialized', 'Ready', 'ContainersReady', 'PodScheduled'].map((type) => ({
        type,
        status: 'True',
        lastTransitionTime: '2024-01-01T00:00:00Z',
      })),
      containerStatuses: [
        {
          name: 'app',
          ready: true,
          restartCount: 0,
          image: `registry.example.com/${labels.app}:1.2.3`,
          containerID: `containerd://${randomUUID().replace(/-/g, '')}`,
          state: { running: { startedAt: '2024-01-01T00:00:00Z' } },
        },
      ],
    },
  };
}
