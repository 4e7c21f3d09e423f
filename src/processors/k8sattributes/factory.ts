import type { Component, Factory, MetricsConsumer } from '../../service/component.js';
import { configSchema, type K8sAttributesConfig } from './config.js';
import { checkApiAccess } from './kube.js';
import { K8sAttributesProcessor } from './processor.js';

export const k8sAttributesProcessorFactory: Factory<K8sAttributesConfig, Component & MetricsConsumer> = {
  type: 'k8sattributes',
  kind: 'processor',
  signals: ['metrics', 'logs'],
  configSchema,
  create: (settings, config, next) => new K8sAttributesProcessor(settings, config, next),
  /** The service account or kubeconfig, and the node name variable, must be there before anything starts. */
  preflight: (config) => checkApiAccess(config),
};

/** The same processor spelled `k8s_attributes`. */
export const k8sAttributesAliasFactory: Factory<K8sAttributesConfig, Component & MetricsConsumer> = {
  ...k8sAttributesProcessorFactory,
  type: 'k8s_attributes',
  configSchema: {
    parse: configSchema.parse,
    doc: () => ({
      type: 'map',
      description: 'Another name for `k8sattributes`, with the same settings.',
      fields: {},
    }),
  },
};
