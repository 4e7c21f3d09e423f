/**
 * The k8sattributes processor's settings, with the Collector's names where the Collector
 * has the setting (auth_type, context, filter.node / node_from_env_var, extract.metadata,
 * extract.labels / annotations, pod_association, wait_for_metadata[_timeout]) and our own
 * names for the rest (kube_config_path, pod_delete_grace_period, peer_enrichment,
 * include_namespaces, exclude_namespaces).
 */
import {
  boolean,
  checked,
  describe,
  duration,
  join,
  list,
  object,
  oneOf,
  optional,
  type Parsed,
  type Schema,
  string,
} from '../../service/schema.js';

/** Resource attributes the processor can add, as `extract.metadata` names them. */
export const METADATA = [
  'k8s.pod.name',
  'k8s.namespace.name',
  'k8s.pod.uid',
  'k8s.node.name',
  'k8s.deployment.name',
  'k8s.statefulset.name',
  'k8s.daemonset.name',
  'k8s.job.name',
  'k8s.cronjob.name',
  'k8s.replicaset.name',
  'k8s.workload.kind',
  'k8s.workload.name',
] as const;
export type MetadataName = (typeof METADATA)[number];

/** Everything but k8s.replicaset.name, which changes with every rollout of a Deployment. */
export const DEFAULT_METADATA: readonly MetadataName[] = METADATA.filter((m) => m !== 'k8s.replicaset.name');

/** The one association the receiver's data supports: the pod's address on its resource. */
export const POD_IP_ATTRIBUTE = 'k8s.pod.ip';

/** `from` of a label or annotation rule: the Collector also reads namespaces and nodes; we read pods. */
const fromPod: Schema<'pod'> = {
  parse(value, path, issues) {
    if (value === null || value === undefined || value === 'pod') return 'pod';
    issues.push({
      path,
      message: `only 'pod' is supported (namespaces and nodes are not watched), but was ${describe(value)}`,
    });
    return undefined;
  },
  doc: () => ({ type: "'pod'", default: 'pod', description: 'Where the label or annotation is read.' }),
};

function extractRules(what: 'labels' | 'annotations') {
  return list(
    object({
      /** The label or annotation key, exactly. */
      key: string({ nonEmpty: true, description: `The pod ${what.slice(0, -1)} key, exactly.` }),
      /** Attribute name; default `k8s.pod.<labels|annotations>.<key>`. */
      tag_name: optional(
        string({ nonEmpty: true, description: `Resource attribute name; default \`k8s.pod.${what}.<key>\`.` }),
      ),
      from: fromPod,
    }),
    {
      default: [],
      description: `Pod ${what} to add as resource attributes, each \`{key, tag_name, from: pod}\`; tag_name defaults to \`k8s.pod.${what}.<key>\`.`,
    },
  );
}

const ENV_NAME = /^[A-Za-z_][A-Za-z0-9_]*$/;

const filter = checked(
  object(
    {
      /** Watch only the pods of this node. */
      node: optional(string({ nonEmpty: true, description: 'Watch only the pods on this node.' })),
      /** Environment variable holding this node's name (downward API `spec.nodeName`). */
      node_from_env_var: optional(
        string({
          nonEmpty: true,
          description:
            "Environment variable holding the node's name (downward API spec.nodeName): watch only the pods on this node.",
        }),
      ),
    },
    { description: 'Which pods to watch: a field selector on spec.nodeName.' },
  ),
  (f, path, issues) => {
    if (f.node !== undefined && f.node_from_env_var !== undefined) {
      issues.push({ path: join(path, 'node_from_env_var'), message: 'give node or node_from_env_var, not both' });
    }
    if (f.node_from_env_var !== undefined && !ENV_NAME.test(f.node_from_env_var)) {
      issues.push({
        path: join(path, 'node_from_env_var'),
        message: `must be an environment variable name such as K8S_NODE_NAME, but was ${describe(f.node_from_env_var)}`,
      });
    }
  },
);

const source = checked(
  object({
    from: string({ description: "Where the pod's identity is read: resource_attribute." }),
    name: optional(string({ description: 'The resource attribute: k8s.pod.ip.' })),
  }),
  (s, path, issues) => {
    if (s.from === 'connection') {
      issues.push({
        path: join(path, 'from'),
        message:
          "'connection' is not supported: the data comes from the kernel, not over a connection; use from: resource_attribute with name: k8s.pod.ip",
      });
    } else if (s.from !== 'resource_attribute') {
      issues.push({ path: join(path, 'from'), message: `must be 'resource_attribute', but was ${describe(s.from)}` });
    } else if (s.name === undefined) {
      issues.push({
        path: join(path, 'name'),
        message: `is required with from: resource_attribute: ${POD_IP_ATTRIBUTE}`,
      });
    } else if (s.name !== POD_IP_ATTRIBUTE) {
      issues.push({
        path: join(path, 'name'),
        message: `must be ${POD_IP_ATTRIBUTE} (the receiver names each pod by its address), but was ${describe(s.name)}`,
      });
    }
  },
);

const podAssociation = list(
  checked(object({ sources: list(source) }), (a, path, issues) => {
    if (a.sources.length === 0) issues.push({ path: join(path, 'sources'), message: 'must list at least one source' });
  }),
  {
    default: [{ sources: [{ from: 'resource_attribute', name: POD_IP_ATTRIBUTE }] }],
    description:
      'How data is matched to a pod, as `[{sources: [{from: resource_attribute, name: k8s.pod.ip}]}]`: the only association the data supports.',
  },
);

const namespaces = (description: string) =>
  list(string({ nonEmpty: true }), { default: [], maxItems: 1000, description });

const fields = {
  /**
   * How to reach the Kubernetes API: the pod's service account, a kubeconfig file, or
   * none (data passes through unchanged).
   * @default serviceAccount
   */
  auth_type: oneOf(['serviceAccount', 'kubeConfig', 'none'] as const, {
    default: 'serviceAccount',
    description:
      "How to reach the Kubernetes API: the pod's service account, a kubeconfig file, or none (data passes through unchanged).",
  }),
  /** The kubeconfig file for auth_type kubeConfig; default $KUBECONFIG or ~/.kube/config. */
  kube_config_path: optional(
    string({
      nonEmpty: true,
      description: 'Kubeconfig file for auth_type kubeConfig; default $KUBECONFIG, else ~/.kube/config.',
    }),
  ),
  /** The kubeconfig context for auth_type kubeConfig; default its current context. */
  context: optional(
    string({ nonEmpty: true, description: "Kubeconfig context for auth_type kubeConfig; default the file's current." }),
  ),
  filter,
  extract: object(
    {
      /** @default every name but k8s.replicaset.name */
      metadata: list(oneOf(METADATA), {
        default: [...DEFAULT_METADATA],
        description:
          'Resource attributes to add from the pod and its owners. k8s.workload.kind and k8s.workload.name, added whatever this lists (Retina naming reads them), name the controller at the top of the owner chain: Deployment (through the ReplicaSet), CronJob (through the Job), StatefulSet, DaemonSet, Job, ReplicaSet, another owner kind, or Pod for a pod without owner.',
      }),
      labels: extractRules('labels'),
      annotations: extractRules('annotations'),
    },
    { description: 'What to add to the data of a known pod.' },
  ),
  pod_association: podAssociation,
  /**
   * Hold start-up until the first list of pods (and their owners) has arrived.
   * @default false
   */
  wait_for_metadata: boolean({
    default: false,
    description: 'Hold start-up until the first list of pods (and of their owners) has arrived.',
  }),
  /** @default 10s */
  wait_for_metadata_timeout: duration({
    default: 10_000,
    minMs: 1,
    description: 'With wait_for_metadata: fail start-up if the first lists take longer than this.',
  }),
  /**
   * How long a deleted pod is still known by its address: its last data is still named.
   * @default 120s (the Collector's fixed value)
   */
  pod_delete_grace_period: duration({
    default: 120_000,
    maxMs: 3_600_000,
    description: "How long a deleted pod's address still names it, for data counted before it went away.",
  }),
  /**
   * Name the remote end of each drop (peer.address) after its pod: watches every pod in
   * the cluster instead of this node's.
   * @default false
   */
  peer_enrichment: boolean({
    default: false,
    description:
      'Add peer.k8s.* attributes naming the pod behind peer.address; watches every pod in the cluster, not only this node\u2019s.',
  }),
  /** When not empty, only data of pods in these namespaces is kept. */
  include_namespaces: namespaces('When not empty, data of pods in other namespaces is dropped.'),
  /** Data of pods in these namespaces is dropped. */
  exclude_namespaces: namespaces('Data of pods in these namespaces is dropped.'),
};

export const configSchema = checked(
  object(fields, {
    description:
      "Adds the pod, namespace, node and workload of each pod's data as resource attributes, from the Kubernetes API.",
  }),
  (c, path, issues) => {
    for (const key of ['kube_config_path', 'context'] as const) {
      if (c[key] !== undefined && c.auth_type !== 'kubeConfig') {
        issues.push({
          path: join(path, key),
          message: `is only used with auth_type: kubeConfig, but auth_type is ${c.auth_type}`,
        });
      }
    }
    const included = new Set(c.include_namespaces);
    c.exclude_namespaces.forEach((ns, i) => {
      if (included.has(ns)) {
        issues.push({
          path: `${join(path, 'exclude_namespaces')}[${i}]`,
          message: `"${ns}" is also in include_namespaces`,
        });
      }
    });
  },
);

export type K8sAttributesConfig = Parsed<typeof fields>;
export type ExtractRule = K8sAttributesConfig['extract']['labels'][number];
