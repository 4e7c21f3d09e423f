import type { Component, Factory, MetricsConsumer } from '../../service/component.js';
import { configSchema, type MemoryLimiterConfig } from './config.js';
import { MemoryLimiterProcessor } from './processor.js';

export const memoryLimiterProcessorFactory: Factory<MemoryLimiterConfig, Component & MetricsConsumer> = {
  type: 'memory_limiter',
  kind: 'processor',
  configSchema,
  create: (settings, config, next) => new MemoryLimiterProcessor(settings, config, next),
};
