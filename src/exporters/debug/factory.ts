import type { ExporterFactory } from '../../service/component.js';
import { configSchema, type DebugConfig } from './config.js';
import { DebugExporter } from './exporter.js';

export const debugExporterFactory: ExporterFactory<DebugConfig> = {
  type: 'debug',
  kind: 'exporter',
  signals: ['metrics', 'logs'],
  configSchema,
  create: (settings, config) => new DebugExporter(settings, config),
};
