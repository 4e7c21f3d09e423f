/**
 * The k8sattributes processor's settings, with the Collector's names, defaults and meaning
 * where the Collector has the setting (auth_type, context, passthrough, filter.node /
 * node_from_env_var / namespace / labels / fields, extract.metadata / labels / annotations
 * / otel_annotations, pod_association, exclude.pods, wait_for_metadata[_timeout]) and our
 * own names for the rest (kube_config_path, pod_delete_grace_period, peer_enrichment,
 * include_namespaces, exclude_namespaces). Collector keys that cannot mean anything here
 * are refused with what they would do and why not here.
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
  'k8s.pod.start_time',
  'k8s.pod.ip',
  'k8s.pod.hostname',
  'k8s.node.name',
  'k8s.deployment.name',
  'k8s.deployment.uid',
  'k8s.statefulset.name',
  'k8s.statefulset.uid',
  'k8s.daemonset.name',
  'k8s.daemonset.uid',
  'k8s.job.name',
  'k8s.job.uid',
  'k8s.cronjob.name',
  'k8s.replicaset.name',
  'k8s.replicaset.uid',
  'k8s.workload.kind',
  'k8s.workload.name',
  'k8s.node.uid',
  'k8s.cluster.uid',
] as const;
export type MetadataName = (typeof METADATA)[number];

/**
 * The Collector's default list, less its container keys, which name nothing here (see
 * NOT_HERE). k8s.workload.kind / name are added whatever the list says (attributes.ts).
 */
export const DEFAULT_METADATA: readonly MetadataName[] = [
  'k8s.pod.name',
  'k8s.pod.uid',
  'k8s.pod.start_time',
  'k8s.namespace.name',
  'k8s.node.name',
  'k8s.deployment.name',
];

const NO_CONTAINER =
  "names a container, found by the data's container.id or k8s.container.name; dropreason's data is per pod address, never per container, so there is no container to name";

/** Collector metadata keys that cannot mean anything here, and why. */
const NOT_HERE: Record<string, string> = {
  'k8s.container.name': NO_CONTAINER,
  'container.id': NO_CONTAINER,
  'container.image.name': NO_CONTAINER,
  'container.image.tag': NO_CONTAINER,
  'container.image.repo_digests': NO_CONTAINER,
};

const metadataName: Schema<MetadataName> = {
  parse(value, path, issues) {
    if (typeof value === 'string' && (METADATA as readonly string[]).includes(value)) return value as MetadataName;
    if (typeof value === 'string' && NOT_HERE[value]) {
      issues.push({ path, message: `"${value}" ${NOT_HERE[value]}` });
      return undefined;
    }
    issues.push({ path, message: `must be one of ${METADATA.join(', ')}, but was ${describe(value)}` });
    return undefined;
  },
  doc: () => ({ type: METADATA.map((m) => `'${m}'`).join(', ') }),
};

/** Annotations with this prefix become attributes named by the rest, with extract.otel_annotations. */
export const OTEL_ANNOTATION_PREFIX = 'resource.opentelemetry.io/';

/** The one association the receiver's data supports: the pod's address on its resource. */
export const POD_IP_ATTRIBUTE = 'k8s.pod.ip';

/** Where a label or annotation rule reads: the pod, its Namespace object or its Node object. */
export const EXTRACT_FROM = ['pod', 'namespace', 'node'] as const;
export type ExtractFrom = (typeof EXTRACT_FROM)[number];

const fromSchema: Schema<ExtractFrom> = {
  parse(value, path, issues) {
    if (value === null || value === undefined || value === '') return 'pod';
    if (typeof value === 'string' && (EXTRACT_FROM as readonly string[]).includes(value)) return value as ExtractFrom;
    issues.push({ path, message: `must be one of ${EXTRACT_FROM.join(', ')}, but was ${describe(value)}` });
    return undefined;
  },
  doc: () => ({
    type: EXTRACT_FROM.map((f) => `'${f}'`).join(', '),
    default: 'pod',
    description:
      "Where the label or annotation is read: the pod, the pod's Namespace object or the pod's Node object. namespace makes the processor watch every Namespace, node the Nodes (only this node's with filter.node or filter.node_from_env_var).",
  }),
};

/** A `key_regex`, anchored as the Collector anchors it. */
const keyRegex: Schema<string> = {
  parse(value, path, issues) {
    const s = string({ nonEmpty: true }).parse(value, path, issues);
    if (s === undefined) return undefined;
    try {
      new RegExp(`^(?:${s})$`);
      return s;
    } catch (err) {
      issues.push({ path, message: `must be a regular expression, but ${describe(s)}: ${(err as Error).message}` });
      return undefined;
    }
  },
  doc: () => ({
    type: 'regular expression',
    description: 'Every key matching it, whole; tag_name may use its groups as $1 or $<name>.',
  }),
};

function extractRules(what: 'labels' | 'annotations') {
  const one = what.slice(0, -1);
  return list(
    checked(
      object({
        /** The label or annotation key, exactly. */
        key: optional(string({ nonEmpty: true, description: `The ${one} key, exactly.` })),
        /** Every key matching this regular expression (whole). */
        key_regex: optional(keyRegex),
        /** Attribute name; default `k8s.<from>.<labels|annotations>.<key>`. */
        tag_name: optional(
          string({
            nonEmpty: true,
            description: `Resource attribute name; default \`k8s.pod.${what}.<key>\`, \`k8s.namespace.${what}.<key>\` or \`k8s.node.${what}.<key>\` by from. With key_regex, $1 or $<name> stand for its groups.`,
          }),
        ),
        from: fromSchema,
      }),
      (r, path, issues) => {
        if ((r.key === undefined) === (r.key_regex === undefined)) {
          issues.push({ path, message: `give key or key_regex, exactly one` });
        }
      },
    ),
    {
      default: [],
      description: `${what[0]!.toUpperCase()}${what.slice(1)} of the pod, its namespace or its node to add as resource attributes, each \`{key | key_regex, tag_name, from: pod | namespace | node}\`; tag_name defaults to \`k8s.<from>.${what}.<key>\`.`,
    },
  );
}

const ENV_NAME = /^[A-Za-z_][A-Za-z0-9_]*$/;

const LABEL_OPS = ['equals', 'not-equals', 'exists', 'does-not-exist'] as const;
const FIELD_OPS = ['equals', 'not-equals'] as const;

function selectorRules<const Op extends string>(what: 'label' | 'field', ops: readonly Op[]) {
  return list(
    checked(
      object({
        key: string({
          nonEmpty: true,
          description: `The pod ${what}${what === 'field' ? ', e.g. status.phase' : ''}.`,
        }),
        value: optional(string({ description: 'The value compared with.' })),
        op: oneOf(ops, { default: 'equals' as Op, description: 'How the value is compared.' }),
      }),
      (r, path, issues) => {
        const needsValue = r.op === 'equals' || r.op === 'not-equals';
        if (needsValue && r.value === undefined) {
          issues.push({ path: join(path, 'value'), message: `is required with op ${r.op}` });
        }
      },
    ),
    {
      default: [],
      maxItems: 100,
      description: `Watch only the pods whose ${what}s pass every rule \`{key, value, op}\` (op ${ops.join(', ')}; default equals): a ${what} selector on the watch.`,
    },
  );
}

export type SelectorRule = { key: string; value: string | undefined; op: string };

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
      /** Watch only the pods of this namespace. */
      namespace: optional(string({ nonEmpty: true, description: 'Watch only the pods in this namespace.' })),
      labels: selectorRules('label', LABEL_OPS),
      fields: selectorRules('field', FIELD_OPS),
    },
    { description: 'Which pods to watch: field and label selectors on the pod watch.' },
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

/** The pod watch's selectors from the filter, as the API writes them; undefined for none. */
export function watchSelectors(
  f: K8sAttributesConfig['filter'],
  node: string | undefined,
): { fieldSelector: string | undefined; labelSelector: string | undefined } {
  const fields = [
    ...(node !== undefined ? [`spec.nodeName=${node}`] : []),
    ...(f.namespace !== undefined ? [`metadata.namespace=${f.namespace}`] : []),
    ...f.fields.map((r) => `${r.key}${r.op === 'not-equals' ? '!=' : '='}${r.value ?? ''}`),
  ];
  const labels = f.labels.map((r) => {
    if (r.op === 'exists') return r.key;
    if (r.op === 'does-not-exist') return `!${r.key}`;
    return `${r.key}${r.op === 'not-equals' ? '!=' : '='}${r.value ?? ''}`;
  });
  return {
    fieldSelector: fields.length ? fields.join(',') : undefined,
    labelSelector: labels.length ? labels.join(',') : undefined,
  };
}

/** exclude.pods: the Collector's default leaves out its Jaeger agent and collector. */
const exclude = object(
  {
    pods: list(
      object({
        name: checked(
          string({ nonEmpty: true, description: 'A regular expression the pod name contains a match of.' }),
          (v, path, issues) => {
            try {
              new RegExp(v);
            } catch (err) {
              issues.push({
                path,
                message: `must be a regular expression, but ${describe(v)}: ${(err as Error).message}`,
              });
            }
          },
        ),
      }),
      {
        default: [{ name: 'jaeger-agent' }, { name: 'jaeger-collector' }],
        description:
          'Pods whose data is not enriched, each `{name: <regular expression>}` matched anywhere in the pod name.',
      },
    ),
  },
  { description: 'Pods to leave unnamed.' },
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
  /**
   * Add nothing and watch nothing: the receiver already names each pod's data by its
   * address (k8s.pod.ip), which is all the Collector's passthrough adds.
   * @default false
   */
  passthrough: boolean({
    default: false,
    description:
      "Watch nothing and pass data on unchanged: the receiver's data already carries k8s.pod.ip, which is what the Collector's passthrough adds.",
  }),
  filter,
  exclude,
  extract: object(
    {
      /** @default every name but k8s.replicaset.name */
      metadata: list(metadataName, {
        default: [...DEFAULT_METADATA],
        description:
          "Resource attributes to add from the pod and its owners (default: the Collector's, less its container keys). The Collector's container keys are refused, saying why. k8s.node.uid (the uid of the pod's Node object) makes the processor watch Nodes (only this node's with filter.node or filter.node_from_env_var); k8s.cluster.uid (the uid of the kube-system Namespace, as the Collector names a cluster) watches the kube-system Namespace, or every Namespace when a rule reads from namespace. k8s.workload.kind and k8s.workload.name, added whatever this lists (Retina naming reads them), name the controller at the top of the owner chain: Deployment (through the ReplicaSet), CronJob (through the Job), StatefulSet, DaemonSet, Job, ReplicaSet, another owner kind, or Pod for a pod without owner.",
      }),
      labels: extractRules('labels'),
      annotations: extractRules('annotations'),
      /** @default false */
      otel_annotations: boolean({
        default: false,
        description: `Add every pod annotation \`${'resource.opentelemetry.io/'}<name>\` as the resource attribute <name>.`,
      }),
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
