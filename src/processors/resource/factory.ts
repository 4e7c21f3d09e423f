import type { Component, Factory, MetricsConsumer } from '../../service/component.js';
import { configSchema, type ResourceConfig } from './config.js';
import { ResourceProcessor } from './processor.js';

export const resourceProcessorFactory: Factory<ResourceConfig, Component & MetricsConsumer> = {
  type: 'resource',
  kind: 'processor',
  configSchema,
  create: (_settings, config, next) => new ResourceProcessor(config, next),
};
