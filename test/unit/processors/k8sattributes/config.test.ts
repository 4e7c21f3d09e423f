/**
 * The k8sattributes config schema, driven by src/processors/k8sattributes/testdata/config.yaml:
 * good entries parse to the settings below (defaults filled in), bad_* entries fail with
 * exactly these errors, all at once.
 */
import path from 'node:path';
import { describe } from 'vitest';

import { packageRoot } from '../../../../src/native/binding.js';
import {
  configSchema,
  DEFAULT_METADATA,
  type K8sAttributesConfig,
} from '../../../../src/processors/k8sattributes/config.js';
import { configTableTests, readComponentConfigs } from '../../componentconfig.js';

const configs = readComponentConfigs(path.join(packageRoot, 'src/processors/k8sattributes/testdata/config.yaml'));

const POD_IP = [{ sources: [{ from: 'resource_attribute', name: 'k8s.pod.ip' }] }];
const NO_FILTER = { node: undefined, node_from_env_var: undefined, namespace: undefined, labels: [], fields: [] };
const DEFAULTS: K8sAttributesConfig = {
  auth_type: 'serviceAccount',
  kube_config_path: undefined,
  context: undefined,
  passthrough: false,
  filter: NO_FILTER,
  exclude: { pods: [{ name: 'jaeger-agent' }, { name: 'jaeger-collector' }] },
  extract: { metadata: [...DEFAULT_METADATA], labels: [], annotations: [], otel_annotations: false },
  pod_association: POD_IP,
  wait_for_metadata: false,
  wait_for_metadata_timeout: 10_000,
  pod_delete_grace_period: 120_000,
  peer_enrichment: false,
  include_namespaces: [],
  exclude_namespaces: [],
};

const KEYS =
  'auth_type, kube_config_path, context, passthrough, filter, exclude, extract, pod_association, wait_for_metadata, wait_for_metadata_timeout, pod_delete_grace_period, peer_enrichment, include_namespaces, exclude_namespaces';
const METADATA_RULE =
  'must be one of k8s.pod.name, k8s.namespace.name, k8s.pod.uid, k8s.pod.start_time, k8s.pod.ip, k8s.pod.hostname, k8s.node.name, k8s.deployment.name, k8s.deployment.uid, k8s.statefulset.name, k8s.statefulset.uid, k8s.daemonset.name, k8s.daemonset.uid, k8s.job.name, k8s.job.uid, k8s.cronjob.name, k8s.replicaset.name, k8s.replicaset.uid, k8s.workload.kind, k8s.workload.name, k8s.node.uid, k8s.cluster.uid, but was';
const NO_CONTAINER =
  "names a container, found by the data's container.id or k8s.container.name; dropreason's data is per pod address, never per container, so there is no container to name";
const rule = (r: { key?: string; key_regex?: string; tag_name?: string; from?: 'pod' | 'namespace' | 'node' }) => ({
  key: undefined,
  key_regex: undefined,
  tag_name: undefined,
  from: 'pod' as const,
  ...r,
});
const P = 'processors.k8sattributes';

const expected: Record<string, K8sAttributesConfig | string[]> = {
  k8sattributes: DEFAULTS,
  'k8sattributes/kubeconfig': {
    ...DEFAULTS,
    auth_type: 'kubeConfig',
    kube_config_path: '/etc/dropreason/kubeconfig',
    context: 'staging',
  },
  'k8sattributes/collector': {
    ...DEFAULTS,
    filter: { ...NO_FILTER, node_from_env_var: 'K8S_NODE_NAME' },
    extract: {
      metadata: ['k8s.namespace.name', 'k8s.pod.name', 'k8s.pod.uid', 'k8s.node.name', 'k8s.deployment.name'],
      labels: [rule({ key: 'app.kubernetes.io/component', tag_name: 'app.label.component' })],
      annotations: [rule({ key: 'git_sha' })],
      otel_annotations: false,
    },
    wait_for_metadata: true,
    wait_for_metadata_timeout: 30_000,
  },
  'k8sattributes/cluster_wide': {
    ...DEFAULTS,
    filter: { ...NO_FILTER, node: 'worker-1' },
    peer_enrichment: true,
    pod_delete_grace_period: 10_000,
    include_namespaces: ['shop', 'payments'],
    exclude_namespaces: ['kube-system'],
  },
  'k8sattributes/no_api': { ...DEFAULTS, auth_type: 'none' },
  'k8sattributes/bad_auth_type': [
    `${P}/bad_auth_type.auth_type: must be one of 'serviceAccount', 'kubeConfig', 'none', but was "tls"`,
  ],
  'k8sattributes/bad_kubeconfig_settings_without_kubeconfig': [
    `${P}/bad_kubeconfig_settings_without_kubeconfig.kube_config_path: is only used with auth_type: kubeConfig, but auth_type is serviceAccount`,
    `${P}/bad_kubeconfig_settings_without_kubeconfig.context: is only used with auth_type: kubeConfig, but auth_type is serviceAccount`,
  ],
  'k8sattributes/bad_filter': [
    `${P}/bad_filter.filter.node_from_env_var: give node or node_from_env_var, not both`,
    `${P}/bad_filter.filter.node_from_env_var: must be an environment variable name such as K8S_NODE_NAME, but was "K8S NODE NAME"`,
  ],
  'k8sattributes/filters': {
    ...DEFAULTS,
    filter: {
      ...NO_FILTER,
      namespace: 'shop',
      labels: [
        { key: 'app', value: 'web', op: 'equals' },
        { key: 'tier', value: 'canary', op: 'not-equals' },
        { key: 'team', value: undefined, op: 'exists' },
        { key: 'legacy', value: undefined, op: 'does-not-exist' },
      ],
      fields: [
        { key: 'status.phase', value: 'Running', op: 'equals' },
        { key: 'metadata.name', value: 'batch-1', op: 'not-equals' },
      ],
    },
  },
  'k8sattributes/extract': {
    ...DEFAULTS,
    extract: {
      metadata: [
        'k8s.pod.name',
        'k8s.pod.uid',
        'k8s.pod.start_time',
        'k8s.pod.ip',
        'k8s.deployment.name',
        'k8s.deployment.uid',
        'k8s.replicaset.uid',
        'k8s.statefulset.uid',
        'k8s.daemonset.uid',
        'k8s.job.uid',
        'k8s.namespace.name',
        'k8s.node.name',
      ],
      labels: [
        rule({ key: 'app.kubernetes.io/component', tag_name: 'app.label.component' }),
        rule({ key_regex: 'app.kubernetes.io/.*' }),
      ],
      annotations: [rule({ key: 'git_sha', tag_name: 'git.sha' })],
      otel_annotations: true,
    },
    exclude: { pods: [{ name: 'jaeger-agent' }, { name: '^otel-' }] },
  },
  'k8sattributes/passthrough': { ...DEFAULTS, passthrough: true },
  'k8sattributes/bad_filter_rules': [
    `${P}/bad_filter_rules.filter.labels[0].op: must be one of 'equals', 'not-equals', 'exists', 'does-not-exist', but was "in"`,
    `${P}/bad_filter_rules.filter.labels[1].value: is required with op equals`,
    `${P}/bad_filter_rules.filter.fields[0].op: must be one of 'equals', 'not-equals', but was "exists"`,
  ],
  'k8sattributes/bad_metadata': [
    `${P}/bad_metadata.extract.metadata[1]: "container.id" ${NO_CONTAINER}`,
    `${P}/bad_metadata.extract.metadata[2]: ${METADATA_RULE} "k8s.cluster.name"`,
    `${P}/bad_metadata.extract.metadata[3]: ${METADATA_RULE} "k8s.pod.colour"`,
  ],
  'k8sattributes/namespace_node': {
    ...DEFAULTS,
    filter: { ...NO_FILTER, node_from_env_var: 'K8S_NODE_NAME' },
    extract: {
      metadata: ['k8s.namespace.name', 'k8s.pod.name', 'k8s.node.name', 'k8s.node.uid', 'k8s.cluster.uid'],
      annotations: [
        rule({ tag_name: 'a1', key: 'annotation-one', from: 'pod' }),
        rule({ tag_name: 'a2', key: 'annotation-two', from: 'namespace' }),
        rule({ tag_name: 'a3', key: 'annotation-three', from: 'node' }),
      ],
      labels: [
        rule({ tag_name: 'l1', key: 'label1', from: 'pod' }),
        rule({ tag_name: 'l2', key: 'label2', from: 'namespace' }),
        rule({ key_regex: 'topology\\.kubernetes\\.io/.*', from: 'node' }),
        rule({ key: 'team' }),
      ],
      otel_annotations: false,
    },
  },
  'k8sattributes/bad_labels': [
    `${P}/bad_labels.extract.labels[0].key: must not be empty`,
    `${P}/bad_labels.extract.labels[1]: give key or key_regex, exactly one`,
    `${P}/bad_labels.extract.labels[2].from: must be one of pod, namespace, node, but was "cluster"`,
    `${P}/bad_labels.extract.labels[3]: give key or key_regex, exactly one`,
    `${P}/bad_labels.extract.labels[4].key_regex: must be a regular expression, but "app.(*": Invalid regular expression: /^(?:app.(*)$/: Nothing to repeat`,
    `${P}/bad_labels.extract.labels[5].from: must be one of pod, namespace, node, but was "Node"`,
    `${P}/bad_labels.extract.annotations: must be a list, but was "owner"`,
  ],
  'k8sattributes/bad_pod_association_connection': [
    `${P}/bad_pod_association_connection.pod_association[0].sources[0].from: 'connection' is not supported: the data comes from the kernel, not over a connection; use from: resource_attribute with name: k8s.pod.ip`,
  ],
  'k8sattributes/bad_pod_association': [
    `${P}/bad_pod_association.pod_association[0].sources[0].name: must be k8s.pod.ip (the receiver names each pod by its address), but was "k8s.pod.uid"`,
    `${P}/bad_pod_association.pod_association[1].sources: must list at least one source`,
    `${P}/bad_pod_association.pod_association[2].sources[0].name: is required with from: resource_attribute: k8s.pod.ip`,
    `${P}/bad_pod_association.pod_association[3].sources[0].from: must be 'resource_attribute', but was "label"`,
  ],
  'k8sattributes/bad_wait': [
    `${P}/bad_wait.wait_for_metadata: must be true or false, but was "yes"`,
    `${P}/bad_wait.wait_for_metadata_timeout: must be between 1ms and 24h, but was "0s"`,
  ],
  'k8sattributes/bad_grace_period': [
    `${P}/bad_grace_period.pod_delete_grace_period: must be between 0ms and 1h, but was "2h"`,
  ],
  'k8sattributes/bad_namespaces_empty': [`${P}/bad_namespaces_empty.exclude_namespaces[1]: must not be empty`],
  'k8sattributes/bad_namespaces_both': [
    `${P}/bad_namespaces_both.exclude_namespaces[1]: "kube-system" is also in include_namespaces`,
  ],
  'k8sattributes/bad_unknown_keys': [
    `${P}/bad_unknown_keys.passtrough: unknown key; accepted keys are: ${KEYS}`,
    `${P}/bad_unknown_keys.extract.annotation: unknown key; accepted keys are: metadata, labels, annotations, otel_annotations`,
  ],
};

describe('k8sattributes processor config (testdata/config.yaml)', () => {
  configTableTests(configSchema, 'processors', configs, expected);
});
