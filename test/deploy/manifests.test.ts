/**
 * The Kubernetes manifests in deploy/kubernetes/: each variant rendered as kustomize would
 * (and by kubectl itself where it is installed), then checked for the references between
 * its parts: names, ports, the pipeline config against the agent's own parser and CLI,
 * the environment it reads, the RBAC against what the k8sattributes processor's source
 * watches, and the capabilities against the image's.
 */
import { spawnSync } from 'node:child_process';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { afterAll, describe, expect, it } from 'vitest';
import { parse, parseAllDocuments } from 'yaml';

import { registry } from '../../src/components.js';
import type { HealthCheckConfig } from '../../src/extensions/healthcheck/config.js';
import type { Endpoint } from '../../src/service/schema.js';
import { type AgentConfig, parseConfig } from '../../src/service/config.js';
import { parseDockerfile } from './dockerfile.js';
import { type K8sObject, referencedFiles, render } from './kustomize.js';

const ROOT = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '../..');
const KUBE = path.join(ROOT, 'deploy/kubernetes');
const VARIANTS = ['gateway', 'sidecar'] as const;
const pkg = JSON.parse(fs.readFileSync(path.join(ROOT, 'package.json'), 'utf8')) as { version: string };
const haveKubectl = spawnSync('kubectl', ['version', '--client'], { stdio: 'ignore' }).status === 0;
const tmp = fs.mkdtempSync(path.join(os.tmpdir(), 'dropreason-manifests-'));
afterAll(() => fs.rmSync(tmp, { recursive: true, force: true }));

const runtimeStage = parseDockerfile(fs.readFileSync(path.join(ROOT, 'Dockerfile'), 'utf8')).at(-1)!;
const imageUser = Number(runtimeStage.instructions.find((i) => i.op === 'USER')!.args.split(':')[0]);
/** The capabilities the image sets on node, as Kubernetes names them: BPF, PERFMON, ... */
const imageCapabilities = /setcap\s+(\S+)\+ep/
  .exec(runtimeStage.instructions.map((i) => i.args).join('\n'))![1]!
  .split(',')
  .map((c) => c.replace(/^cap_/, '').toUpperCase());

/**
 * What the k8sattributes processor lists and watches, from its source: the API paths it
 * watches (`/api/v1/pods`, `/apis/apps/v1/replicasets`) and the list calls it makes
 * (`listPodForAllNamespaces`), as `group/resource` with group '' for the core API.
 */
function watchedResources(): { paths: Set<string>; lists: Set<string> } {
  const dir = path.join(ROOT, 'src/processors/k8sattributes');
  const source = fs
    .readdirSync(dir)
    .filter((f) => f.endsWith('.ts'))
    .map((f) => fs.readFileSync(path.join(dir, f), 'utf8'))
    .join('\n');
  const paths = new Set<string>();
  for (const m of source.matchAll(/'\/api(?:s\/([a-z0-9.-]+))?\/v[0-9a-z]+\/([a-z]+)'/g))
    paths.add(`${m[1] ?? ''}/${m[2]}`);
  const lists = new Set<string>();
  // Namespaced kinds: listNamespacedPod, listPodForAllNamespaces; cluster kinds: listNode.
  for (const m of source.matchAll(
    /\.(?:list|read)(?:Namespaced([A-Z]\w*?)|([A-Z]\w*?)ForAllNamespaces|(?!All\()([A-Z]\w*?))\(/g,
  )) {
    lists.add(`${(m[1] ?? m[2] ?? m[3])!.toLowerCase()}s`);
  }
  return { paths, lists };
}

function hostPort(endpoint: Endpoint | string): Endpoint {
  if (typeof endpoint !== 'string') return endpoint;
  const m = /^(.*):(\d+)$/.exec(endpoint)!;
  return { host: m[1]!, port: Number(m[2]) };
}

const isLoopback = (host: string) => ['127.0.0.1', 'localhost', '::1', '[::1]'].includes(host);
const allInterfaces = (host: string) => ['', '0.0.0.0', '::', '[::]'].includes(host);

/** kubectl's output with the generators' hash suffixes taken off, for comparing with render(). */
function normalized(objects: K8sObject[], names: string[]): K8sObject[] {
  let text = JSON.stringify(objects);
  for (const name of names) text = text.replace(new RegExp(`"${name}-[a-z0-9]{10}"`, 'g'), `"${name}"`);
  const sortNamed = (v: unknown): unknown => {
    if (Array.isArray(v)) {
      const items = v.map(sortNamed);
      const hasNames = items.every((i) => typeof i === 'object' && i !== null && 'name' in i);
      return hasNames
        ? items.sort((a, b) => String((a as K8sObject)['name']).localeCompare((b as K8sObject)['name']))
        : items;
    }
    if (typeof v === 'object' && v !== null) {
      return Object.fromEntries(Object.entries(v).map(([k, x]) => [k, sortNamed(x)]));
    }
    return v;
  };
  const key = (o: K8sObject) => `${o['kind']}/${o['metadata'].name}`;
  return (JSON.parse(text) as K8sObject[])
    .map(sortNamed as (o: K8sObject) => K8sObject)
    .sort((a, b) => key(a).localeCompare(key(b)));
}

describe('Kubernetes manifests', () => {
  it('names in every kustomization only files that exist', () => {
    for (const dir of ['base', ...VARIANTS]) {
      const missing = referencedFiles(path.join(KUBE, dir)).filter((f) => !fs.existsSync(f));
      expect(missing, dir).toEqual([]);
    }
  });

  it.skipIf(!haveKubectl)('render as kubectl kustomize renders them', () => {
    for (const variant of VARIANTS) {
      const dir = path.join(KUBE, variant);
      const r = spawnSync('kubectl', ['kustomize', dir], { encoding: 'utf8' });
      expect(r.stderr).toBe('');
      const fromKubectl = parseAllDocuments(r.stdout).map((d) => d.toJS() as K8sObject);
      const ours = render(dir);
      const generated = ours.filter((o) => o['kind'] === 'ConfigMap').map((o) => o['metadata'].name as string);
      expect(normalized(fromKubectl, generated)).toEqual(normalized(ours, []));
    }
  });

  it('use one agent image in both variants: the package version of the Dockerfile build', () => {
    for (const variant of VARIANTS) {
      const ds = render(path.join(KUBE, variant)).find((o) => o['kind'] === 'DaemonSet')!;
      const agent = ds['spec'].template.spec.containers.find((c: K8sObject) => c['name'] === 'dropreason');
      expect(agent.image).toBe(`dropreason:${pkg.version}`);
    }
  });

  describe.each(VARIANTS)('%s', (variant) => {
    const objects = render(path.join(KUBE, variant));
    const all = (kind: string) => objects.filter((o) => o['kind'] === kind);
    const one = (kind: string) => {
      expect(all(kind), kind).toHaveLength(1);
      return all(kind)[0]!;
    };
    const ds = one('DaemonSet');
    const pod = ds['spec'].template.spec as K8sObject;
    const containers: K8sObject[] = [...(pod['initContainers'] ?? []), ...pod['containers']];
    const agent = pod['containers'].find((c: K8sObject) => c['name'] === 'dropreason') as K8sObject;

    /** The text of the ConfigMap key a container's config file path is mounted from. */
    function mountedFile(container: K8sObject, file: string): string {
      const mount = container['volumeMounts'].find((m: K8sObject) => path.dirname(file) === m['mountPath']);
      expect(mount, `${container['name']}: nothing mounted at ${path.dirname(file)}`).toBeDefined();
      const volume = pod['volumes'].find((v: K8sObject) => v['name'] === mount.name);
      expect(volume?.configMap, `${container['name']}: volume ${mount.name} is not a ConfigMap`).toBeDefined();
      const cm = all('ConfigMap').find((c) => c['metadata'].name === volume.configMap.name);
      expect(cm, `ConfigMap ${volume.configMap.name}`).toBeDefined();
      expect(cm!['metadata'].namespace).toBe(ds['metadata'].namespace);
      const text = cm!['data'][path.basename(file)] as string | undefined;
      expect(text, `ConfigMap ${volume.configMap.name} has no key ${path.basename(file)}`).toBeDefined();
      return text!;
    }

    const configPath = agent['args'][agent['args'].indexOf('--config') + 1] as string;
    const configText = mountedFile(agent, configPath);
    /** The agent's environment in a pod: downward API fields get made-up values. */
    const env: Record<string, string> = Object.fromEntries(
      (agent['env'] ?? []).map((e: K8sObject) => [
        e['name'],
        e['value'] ?? `value-of-${e['valueFrom'].fieldRef.fieldPath}`,
      ]),
    );
    // Parsed in each test, so that a bad config fails the tests rather than their collection.
    const agentConfig = (): AgentConfig => parseConfig(configText, registry, env);
    const settings = (kind: 'receivers' | 'processors' | 'exporters', id: string) =>
      // eslint-disable-next-line @typescript-eslint/no-explicit-any
      agentConfig()[kind].get(id)?.config as any;

    it('puts every namespaced object in its one Namespace', () => {
      const ns = one('Namespace')['metadata'].name;
      const cluster = ['Namespace', 'ClusterRole', 'ClusterRoleBinding'];
      for (const o of objects.filter((o) => !cluster.includes(o['kind']))) {
        expect(o['metadata'].namespace, `${o['kind']} ${o['metadata'].name}`).toBe(ns);
      }
    });

    it('runs the DaemonSet as the ServiceAccount its ClusterRoleBinding binds', () => {
      const sa = one('ServiceAccount')['metadata'];
      const binding = one('ClusterRoleBinding');
      expect(pod['serviceAccountName']).toBe(sa.name);
      expect(binding['subjects']).toEqual([{ kind: 'ServiceAccount', name: sa.name, namespace: sa.namespace }]);
      expect(binding['roleRef']).toEqual({
        apiGroup: 'rbac.authorization.k8s.io',
        kind: 'ClusterRole',
        name: one('ClusterRole')['metadata'].name,
      });
      expect(all('Role')).toEqual([]);
      expect(all('RoleBinding')).toEqual([]);
    });

    it('grants read-only access to exactly what the k8sattributes processor lists and watches', () => {
      const { paths, lists } = watchedResources();
      expect(paths).toContain('/pods');
      // The list calls and the watch paths name the same resources.
      expect([...lists].sort()).toEqual([...paths].map((p) => p.split('/')[1]).sort());
      const granted = new Set<string>();
      for (const rule of one('ClusterRole')['rules'] as K8sObject[]) {
        expect(rule['verbs']).toEqual(['get', 'list', 'watch']);
        for (const group of rule['apiGroups']) for (const r of rule['resources']) granted.add(`${group}/${r}`);
      }
      expect([...granted].sort()).toEqual([...paths].sort());
    });

    it('selects its own pods', () => {
      expect(ds['spec'].template.metadata.labels).toMatchObject(ds['spec'].selector.matchLabels);
    });

    it('holds a pipeline the agent accepts: its config parser and `dropreason validate`', () => {
      const config = agentConfig();
      expect(config.receivers.get('dropreason')).toBeDefined();
      expect(settings('receivers', 'dropreason').mode).toBe('advanced');
      expect([...config.exporters.keys()].sort()).toEqual(['otlp', 'prometheus']);
      expect(config.pipelines.map((p) => p.processors)).toEqual([['k8sattributes']]);

      const file = path.join(tmp, `${variant}.yaml`);
      fs.writeFileSync(file, configText);
      const r = spawnSync(path.join(ROOT, 'bin/dropreason'), ['validate', '--config', file], {
        encoding: 'utf8',
        env: { PATH: process.env['PATH'], ...env },
      });
      expect(r.stderr).toBe('');
      expect(r.stdout).toContain(': valid; pipelines: metrics (dropreason -> otlp,prometheus)');
      expect(r.status).toBe(0);
    });

    it('sets every variable the pipeline reads; the node name from the downward API', () => {
      const read = [...configText.matchAll(/\$\{env:([A-Za-z_][A-Za-z0-9_]*)\}/g)].map((m) => m[1]!);
      expect(read.filter((name) => !(name in env))).toEqual([]);
      const k8s = settings('processors', 'k8sattributes');
      expect(k8s.auth_type).toBe('serviceAccount');
      expect(pod['automountServiceAccountToken']).not.toBe(false);
      const nodeVar = agent['env'].find((e: K8sObject) => e['name'] === k8s.filter.node_from_env_var);
      expect(nodeVar?.valueFrom).toEqual({ fieldRef: { fieldPath: 'spec.nodeName' } });
    });

    it('exposes, probes and annotates for scraping the ports the pipeline listens on', () => {
      const config = agentConfig();
      const prometheus = hostPort(settings('exporters', 'prometheus').endpoint);
      const telemetry = hostPort(config.telemetry.metrics.address);
      expect(config.telemetry.metrics.level).not.toBe('none');
      // The kubelet and Prometheus come from outside the pod.
      expect(allInterfaces(prometheus.host) && allInterfaces(telemetry.host)).toBe(true);
      const health = config.extensions.get('health_check')!.config as HealthCheckConfig;
      expect(config.serviceExtensions).toContain('health_check');
      expect(allInterfaces(health.endpoint.host)).toBe(true);
      expect(health.tls).toBeUndefined();
      const ports = new Map<string, number>(agent['ports'].map((p: K8sObject) => [p['name'], p['containerPort']]));
      expect([...ports.values()].sort()).toEqual([prometheus.port, telemetry.port, health.endpoint.port].sort());
      for (const probe of [agent['livenessProbe'], agent['readinessProbe']]) {
        const port = probe.httpGet.port;
        expect(typeof port === 'number' ? port : ports.get(port)).toBe(health.endpoint.port);
        expect(probe.httpGet.path).toBe(health.path);
        expect(probe.httpGet.scheme ?? 'HTTP').toBe('HTTP');
      }
      expect(ds['spec'].template.metadata.annotations).toEqual({
        'prometheus.io/scrape': 'true',
        'prometheus.io/port': String(prometheus.port),
        'prometheus.io/path': '/metrics',
      });
    });

    it("adds exactly the capabilities the image's node binary carries, as the image's user", () => {
      const sc = agent['securityContext'];
      expect(sc.capabilities.drop).toEqual(['ALL']);
      expect([...sc.capabilities.add].sort()).toEqual([...imageCapabilities].sort());
      expect(sc.privileged).toBeUndefined();
      expect(sc.readOnlyRootFilesystem).toBe(true);
      expect(pod['securityContext'].runAsNonRoot).toBe(true);
      expect(sc.runAsUser ?? pod['securityContext'].runAsUser).toBe(imageUser);
      expect(pod['hostNetwork'] ?? false).toBe(false);
      expect(pod['hostPID'] ?? false).toBe(false);
      expect(pod['hostIPC'] ?? false).toBe(false);
    });

    it('mounts every volume, host paths read-only: the BTF where it is on the host, /sys where the receiver reads interfaces', () => {
      const mounts = containers.flatMap((c) => c['volumeMounts'] ?? []) as K8sObject[];
      const volumes = pod['volumes'] as K8sObject[];
      expect(volumes.filter((v) => !mounts.some((m) => m['name'] === v['name']))).toEqual([]);
      expect(mounts.filter((m) => !volumes.some((v) => v['name'] === m['name']))).toEqual([]);
      const hostPaths = volumes.filter((v) => v['hostPath']);
      expect(hostPaths.map((v) => v['hostPath'].path)).toEqual(['/sys/kernel/btf', '/sys']);
      // The host's /sys under the receiver's interfaces.root_path: ROOT/sys/class/net is the node's.
      const root = settings('receivers', 'dropreason').interfaces.root_path as string;
      const where = (host: string) => (host === '/sys' ? path.join(root, 'sys') : host);
      for (const v of hostPaths) {
        for (const m of mounts.filter((m) => m['name'] === v['name'])) {
          expect(m).toMatchObject({ mountPath: where(v['hostPath'].path), readOnly: true });
        }
      }
    });

    it('sets requests and limits on every container', () => {
      const mebibytes = (q: string) => Number(/^(\d+)Mi$/.exec(q)![1]);
      for (const c of containers) {
        expect(mebibytes(c['resources'].requests.memory)).toBeLessThanOrEqual(mebibytes(c['resources'].limits.memory));
        expect(Object.keys(c['resources'].requests).sort(), c['name']).toEqual(['cpu', 'memory']);
        expect(Object.keys(c['resources'].limits).sort(), c['name']).toEqual(['cpu', 'memory']);
      }
    });

    if (variant === 'gateway') {
      it('sends OTLP to a Collector Service', () => {
        const otlp = hostPort(settings('exporters', 'otlp').endpoint);
        expect(otlp.host).toMatch(/^[a-z0-9-]+\.[a-z0-9-]+\.svc(\.cluster\.local)?$/);
        expect(otlp.port).toBe(4317);
        expect(containers).toHaveLength(1);
      });
    }

    if (variant === 'sidecar') {
      const collector = containers.find((c) => c['name'] !== 'dropreason')!;
      const collectorConfigPath = /^--config=(.+)$/.exec(collector['args'][0])![1]!;
      const collectorConfig = parse(mountedFile(collector, collectorConfigPath)) as K8sObject;

      it('runs an OpenTelemetry Collector beside the agent, started before it', () => {
        expect(containers.map((c) => c['name']).sort()).toEqual(['dropreason', collector['name']].sort());
        expect(collector['image']).toMatch(/^otel\/opentelemetry-collector-contrib:\d+\.\d+\.\d+$/);
        // A native sidecar: an init container that keeps running.
        expect(pod['initContainers']).toEqual([collector]);
        expect(collector['restartPolicy']).toBe('Always');
      });

      it("receives on the pod's loopback the OTLP the agent sends there", () => {
        const sent = hostPort(settings('exporters', 'otlp').endpoint);
        const received = hostPort(collectorConfig['receivers'].otlp.protocols.grpc.endpoint);
        expect(sent.port).toBe(received.port);
        expect(isLoopback(sent.host) && isLoopback(received.host)).toBe(true);
        expect(settings('exporters', 'otlp').tls.insecure).toBe(true);
        expect(collectorConfig['service'].pipelines.metrics.receivers).toContain('otlp');
      });

      it('probes the health_check extension, and no two containers listen on one port', () => {
        const config = agentConfig();
        const health = hostPort(collectorConfig['extensions'].health_check.endpoint);
        expect(collectorConfig['service'].extensions).toContain('health_check');
        const ports = new Map<string, number>(
          collector['ports'].map((p: K8sObject) => [p['name'], p['containerPort']]),
        );
        for (const probe of ['startupProbe', 'livenessProbe'].map((p) => collector[p])) {
          expect(ports.get(probe.httpGet.port)).toBe(health.port);
        }
        const collectorTelemetry = collectorConfig['service'].telemetry.metrics.readers[0].pull.exporter.prometheus;
        const listening = [
          hostPort(settings('exporters', 'prometheus').endpoint).port,
          hostPort(config.telemetry.metrics.address).port,
          (config.extensions.get('health_check')!.config as HealthCheckConfig).endpoint.port,
          hostPort(collectorConfig['receivers'].otlp.protocols.grpc.endpoint).port,
          health.port,
          collectorTelemetry.port,
        ];
        expect(new Set(listening).size).toBe(listening.length);
        expect([...ports.values()].sort()).toEqual([health.port, collectorTelemetry.port].sort());
      });
    }
  });
});

/**
 * deploy/kubernetes/prometheus-operator: a PodMonitor, or a Service and a ServiceMonitor,
 * that must find the DaemonSet's pods and the port its pipeline serves Prometheus on, and
 * name each target after its node (`instance`), as Retina's dashboards expect.
 */
describe('Prometheus-operator manifests', () => {
  const dir = path.join(KUBE, 'prometheus-operator');
  const read = (file: string) => parse(fs.readFileSync(path.join(dir, file), 'utf8')) as K8sObject;
  const podMonitor = read('podmonitor.yaml');
  const service = read('service.yaml');
  const serviceMonitor = read('servicemonitor.yaml');
  const matches = (selector: K8sObject, labels: Record<string, string>) =>
    Object.entries(selector['matchLabels'] as Record<string, string>).every(([k, v]) => labels[k] === v);

  describe.each(VARIANTS)('with %s', (variant) => {
    const objects = render(path.join(KUBE, variant));
    const ds = objects.find((o) => o['kind'] === 'DaemonSet')!;
    const template = ds['spec'].template;
    const agent = template.spec.containers.find((c: K8sObject) => c['name'] === 'dropreason') as K8sObject;
    const configMap = objects.find((o) => o['kind'] === 'ConfigMap' && o['data']['otel-config.yaml'])!;
    const env = Object.fromEntries(
      (agent['env'] ?? []).map((e: K8sObject) => [e['name'], e['value'] ?? 'node-a']),
    ) as Record<string, string>;
    const prometheus = hostPort(
      // eslint-disable-next-line @typescript-eslint/no-explicit-any
      (parseConfig(configMap['data']['otel-config.yaml'], registry, env).exporters.get('prometheus')!.config as any)
        .endpoint,
    );
    const port = (name: string) => agent['ports'].find((p: K8sObject) => p['name'] === name)?.containerPort;

    it("selects the DaemonSet's pods in its namespace, on the port the Prometheus exporter serves", () => {
      expect(podMonitor['metadata'].namespace).toBe(ds['metadata'].namespace);
      expect(matches(podMonitor['spec'].selector, template.metadata.labels)).toBe(true);
      const [endpoint] = podMonitor['spec'].podMetricsEndpoints as K8sObject[];
      expect(port(endpoint!['port'])).toBe(prometheus.port);
      expect(endpoint!['path']).toBe(template.metadata.annotations['prometheus.io/path']);
    });

    it("selects the pods through a headless Service whose port is the exporter's", () => {
      expect(service['metadata'].namespace).toBe(ds['metadata'].namespace);
      expect(serviceMonitor['metadata'].namespace).toBe(ds['metadata'].namespace);
      expect(service['spec'].clusterIP).toBe('None');
      expect(matches({ matchLabels: service['spec'].selector }, template.metadata.labels)).toBe(true);
      expect(matches(serviceMonitor['spec'].selector, service['metadata'].labels)).toBe(true);
      const [endpoint] = serviceMonitor['spec'].endpoints as K8sObject[];
      const servicePort = (service['spec'].ports as K8sObject[]).find((p) => p['name'] === endpoint!['port'])!;
      expect(port(servicePort['targetPort'])).toBe(prometheus.port);
      expect(endpoint!['path']).toBe(template.metadata.annotations['prometheus.io/path']);
    });
  });

  it('names each target after its node, in the instance label', () => {
    const nodeToInstance = { sourceLabels: ['__meta_kubernetes_pod_node_name'], targetLabel: 'instance' };
    expect(podMonitor['spec'].podMetricsEndpoints[0].relabelings).toContainEqual(
      expect.objectContaining(nodeToInstance),
    );
    expect(serviceMonitor['spec'].endpoints[0].relabelings).toContainEqual(expect.objectContaining(nodeToInstance));
  });
});
