/** Every component type this build knows, by kind. */
import { debugExporterFactory } from './exporters/debug/factory.js';
import { otlpExporterFactory } from './exporters/otlp/factory.js';
import { otlpHttpExporterFactory } from './exporters/otlphttp/factory.js';
import { healthCheckExtensionFactory } from './extensions/healthcheck/factory.js';
import { prometheusExporterFactory } from './exporters/prometheus/factory.js';
import { batchProcessorFactory } from './processors/batch/factory.js';
import { k8sAttributesAliasFactory, k8sAttributesProcessorFactory } from './processors/k8sattributes/factory.js';
import { memoryLimiterProcessorFactory } from './processors/memorylimiter/factory.js';
import { resourceProcessorFactory } from './processors/resource/factory.js';
import { dropReasonReceiverFactory } from './receiver/dropreason/factory.js';
import type { Component, Factory } from './service/component.js';
import type { Registry } from './service/config.js';

const erase = <C, T extends Component>(f: Factory<C, T>) => f as unknown as Factory<unknown, Component>;

export const registry: Registry = {
  receiver: [erase(dropReasonReceiverFactory)],
  processor: [
    erase(k8sAttributesProcessorFactory),
    erase(k8sAttributesAliasFactory),
    erase(batchProcessorFactory),
    erase(memoryLimiterProcessorFactory),
    erase(resourceProcessorFactory),
  ],
  exporter: [
    erase(prometheusExporterFactory),
    erase(debugExporterFactory),
    erase(otlpExporterFactory),
    erase(otlpHttpExporterFactory),
  ],
  extension: [erase(healthCheckExtensionFactory)],
};
