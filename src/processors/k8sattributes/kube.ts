/**
 * The way to the Kubernetes API, by auth_type: the pod's service account (in a cluster) or
 * a kubeconfig file. The processor takes it from a provider function, so tests can point
 * it at any API server.
 */
import fs from 'node:fs';
import { createRequire } from 'node:module';
import type * as K8sClient from '@kubernetes/client-node';
import type { KubeConfig } from '@kubernetes/client-node';

import type { K8sAttributesConfig } from './config.js';

export type KubeConfigProvider = (config: K8sAttributesConfig) => KubeConfig;

let client: typeof K8sClient | undefined;

/** One page of a list request's answer. */
export interface ListPage {
  items: unknown[];
  metadata?: { resourceVersion?: string; _continue?: string };
}

/**
 * The Kubernetes client library, loaded on first use: it costs tens of megabytes, which
 * agents that do not use this processor should not pay.
 */
export function k8sClient(): typeof K8sClient {
  client ??= createRequire(import.meta.url)('@kubernetes/client-node') as typeof K8sClient;
  return client;
}

const SERVICE_ACCOUNT_TOKEN = '/var/run/secrets/kubernetes.io/serviceaccount/token';

/** Loads the client's config; throws an Error that says what is missing. */
export const loadKubeConfig: KubeConfigProvider = (config) => {
  const kc = new (k8sClient().KubeConfig)();
  if (config.auth_type === 'serviceAccount') {
    kc.loadFromCluster();
  } else {
    const file = config.kube_config_path;
    try {
      if (file) kc.loadFromFile(file);
      else kc.loadFromDefault();
    } catch (err) {
      throw new Error(`cannot read the kubeconfig${file ? ` ${file}` : ''}: ${(err as Error).message}`, {
        cause: err,
      });
    }
    if (config.context) {
      if (!kc.getContextObject(config.context)) {
        const known = kc.getContexts().map((c) => c.name);
        throw new Error(`context "${config.context}" is not in the kubeconfig; it has: ${known.join(', ') || 'none'}`);
      }
      kc.setCurrentContext(config.context);
    }
  }
  if (!kc.getCurrentCluster()) throw new Error('the kubeconfig names no cluster for its current context');
  return kc;
};

/** What the API needs from the machine, checked before anything starts. */
export function checkApiAccess(config: K8sAttributesConfig, env: NodeJS.ProcessEnv = process.env): void {
  if (config.auth_type === 'none') return;
  if (config.auth_type === 'serviceAccount') {
    if (!env['KUBERNETES_SERVICE_HOST'] || !env['KUBERNETES_SERVICE_PORT']) {
      throw new Error(
        'auth_type serviceAccount needs KUBERNETES_SERVICE_HOST and KUBERNETES_SERVICE_PORT, which Kubernetes sets in a pod; outside a cluster use auth_type kubeConfig or none',
      );
    }
    try {
      fs.accessSync(SERVICE_ACCOUNT_TOKEN, fs.constants.R_OK);
    } catch (err) {
      throw new Error(
        `auth_type serviceAccount: cannot read ${SERVICE_ACCOUNT_TOKEN} (${(err as NodeJS.ErrnoException).code}); is automountServiceAccountToken off?`,
        { cause: err },
      );
    }
  } else {
    loadKubeConfig(config);
  }
  const variable = config.filter.node_from_env_var;
  if (variable !== undefined && !env[variable]) {
    throw new Error(
      `filter.node_from_env_var: environment variable ${variable} is not set (set it from the downward API: fieldRef spec.nodeName)`,
    );
  }
}

export interface ApiLists {
  pods(selectors: Selectors, page: Page): Promise<ListPage>;
  replicaSets(page: Page): Promise<ListPage>;
  jobs(page: Page): Promise<ListPage>;
  namespaces(selectors: Selectors, page: Page): Promise<ListPage>;
  nodes(selectors: Selectors, page: Page): Promise<ListPage>;
}

interface Page {
  limit: number;
  _continue?: string;
}

export interface Selectors {
  fieldSelector?: string;
  labelSelector?: string;
}

/** Cluster-wide list calls through the client's generated APIs (Namespaces and Nodes are cluster objects). */
export function apiLists(kc: KubeConfig): ApiLists {
  const { AppsV1Api, BatchV1Api, CoreV1Api } = k8sClient();
  const core = kc.makeApiClient(CoreV1Api);
  const apps = kc.makeApiClient(AppsV1Api);
  const batch = kc.makeApiClient(BatchV1Api);
  return {
    pods: (selectors, page) => core.listPodForAllNamespaces({ ...selectors, ...page }),
    replicaSets: (page) => apps.listReplicaSetForAllNamespaces(page),
    jobs: (page) => batch.listJobForAllNamespaces(page),
    namespaces: (selectors, page) => core.listNamespace({ ...selectors, ...page }),
    nodes: (selectors, page) => core.listNode({ ...selectors, ...page }),
  };
}

export const PATHS = {
  pods: '/api/v1/pods',
  replicaSets: '/apis/apps/v1/replicasets',
  jobs: '/apis/batch/v1/jobs',
  namespaces: '/api/v1/namespaces',
  nodes: '/api/v1/nodes',
} as const;
