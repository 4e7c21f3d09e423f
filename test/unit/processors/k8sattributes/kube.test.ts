/** Reaching the API: kubeconfig loading and the checks made before anything starts. */
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';

import { registry } from '../../../../src/components.js';
import { configSchema, type K8sAttributesConfig } from '../../../../src/processors/k8sattributes/config.js';
import { k8sAttributesProcessorFactory } from '../../../../src/processors/k8sattributes/factory.js';
import { checkApiAccess, loadKubeConfig } from '../../../../src/processors/k8sattributes/kube.js';
import { parseConfig } from '../../../../src/service/config.js';
import { parseSettings } from '../../componentconfig.js';

const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'k8sattributes-kube-'));
afterAll(() => fs.rmSync(dir, { recursive: true, force: true }));

const KUBECONFIG = `apiVersion: v1
kind: Config
clusters:
  - name: c1
    cluster: { server: 'https://10.0.0.1:6443' }
  - name: c2
    cluster: { server: 'https://10.0.0.2:6443' }
users:
  - name: u
    user: { token: t }
contexts:
  - name: one
    context: { cluster: c1, user: u }
  - name: two
    context: { cluster: c2, user: u }
current-context: one
`;
const kubeconfig = path.join(dir, 'kubeconfig');
fs.writeFileSync(kubeconfig, KUBECONFIG);

function config(settings: Record<string, unknown>): K8sAttributesConfig {
  return parseSettings(configSchema, 'processors.k8sattributes', settings);
}

describe('loadKubeConfig', () => {
  it('reads the file and the context asked for', () => {
    const kc = loadKubeConfig(config({ auth_type: 'kubeConfig', kube_config_path: kubeconfig }));
    expect(kc.getCurrentCluster()?.server).toBe('https://10.0.0.1:6443');
    const two = loadKubeConfig(config({ auth_type: 'kubeConfig', kube_config_path: kubeconfig, context: 'two' }));
    expect(two.getCurrentCluster()?.server).toBe('https://10.0.0.2:6443');
  });

  it('says which context is missing and which there are', () => {
    expect(() =>
      loadKubeConfig(config({ auth_type: 'kubeConfig', kube_config_path: kubeconfig, context: 'three' })),
    ).toThrow('context "three" is not in the kubeconfig; it has: one, two');
  });

  it('says which file it cannot read', () => {
    const missing = path.join(dir, 'missing');
    expect(() => loadKubeConfig(config({ auth_type: 'kubeConfig', kube_config_path: missing }))).toThrow(
      `cannot read the kubeconfig ${missing}: `,
    );
  });
});

describe('checkApiAccess (preflight)', () => {
  it('needs nothing with auth_type none', () => {
    expect(() => checkApiAccess(config({ auth_type: 'none' }), {})).not.toThrow();
  });

  it('needs the service account environment outside of which it cannot work', () => {
    expect(() => checkApiAccess(config({}), {})).toThrow(
      'auth_type serviceAccount needs KUBERNETES_SERVICE_HOST and KUBERNETES_SERVICE_PORT, which Kubernetes sets in a pod; outside a cluster use auth_type kubeConfig or none',
    );
  });

  it('needs the node name variable when filter.node_from_env_var names one', () => {
    const c = config({
      auth_type: 'kubeConfig',
      kube_config_path: kubeconfig,
      filter: { node_from_env_var: 'K8S_NODE_NAME' },
    });
    expect(() => checkApiAccess(c, {})).toThrow(
      'filter.node_from_env_var: environment variable K8S_NODE_NAME is not set (set it from the downward API: fieldRef spec.nodeName)',
    );
    expect(() => checkApiAccess(c, { K8S_NODE_NAME: 'node-a' })).not.toThrow();
  });

  it('is the factory’s preflight', () => {
    const missing = path.join(dir, 'missing');
    expect(() =>
      k8sAttributesProcessorFactory.preflight!(config({ auth_type: 'kubeConfig', kube_config_path: missing })),
    ).toThrow(`cannot read the kubeconfig ${missing}`);
  });
});

describe('registry', () => {
  it('knows the processor as k8sattributes and as k8s_attributes', () => {
    const parsed = parseConfig(
      `receivers:
  dropreason:
processors:
  k8sattributes:
    auth_type: none
  k8s_attributes/other:
    auth_type: none
    peer_enrichment: true
exporters:
  debug:
service:
  pipelines:
    metrics:
      receivers: [dropreason]
      processors: [k8sattributes]
      exporters: [debug]
    metrics/other:
      receivers: [dropreason]
      processors: [k8s_attributes/other]
      exporters: [debug]
`,
      registry,
      {},
    );
    expect(parsed.processors.get('k8sattributes')?.type).toBe('k8sattributes');
    expect(parsed.processors.get('k8s_attributes/other')?.type).toBe('k8s_attributes');
    expect((parsed.processors.get('k8s_attributes/other')?.config as K8sAttributesConfig).peer_enrichment).toBe(true);
  });

  it('reports a bad setting under either name with its YAML path', () => {
    expect(() =>
      parseConfig(
        `receivers: { dropreason: }
processors: { k8s_attributes: { auth_type: tls } }
exporters: { debug: }
service: { pipelines: { metrics: { receivers: [dropreason], processors: [k8s_attributes], exporters: [debug] } } }
`,
        registry,
        {},
      ),
    ).toThrow(
      `processors.k8s_attributes.auth_type: must be one of 'serviceAccount', 'kubeConfig', 'none', but was "tls"`,
    );
  });
});
