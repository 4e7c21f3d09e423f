import type { Component, Factory, MetricsConsumer } from '../../service/component.js';
import { type BatchConfig, configSchema } from './config.js';
import { BatchProcessor } from './processor.js';

export const batchProcessorFactory: Factory<BatchConfig, Component & MetricsConsumer> = {
  type: 'batch',
  kind: 'processor',
  configSchema,
  create: (_settings, config, next) => new BatchProcessor(config, next),
};
