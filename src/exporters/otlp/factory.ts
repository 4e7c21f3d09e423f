import fs from 'node:fs';

import type { ExporterFactory } from '../../service/component.js';
import { tlsFiles } from './client.js';
import { configSchema, type OtlpConfig } from './config.js';
import { OtlpExporter } from './exporter.js';

export const otlpExporterFactory: ExporterFactory<OtlpConfig> = {
  type: 'otlp',
  kind: 'exporter',
  configSchema,
  create: (settings, config) => new OtlpExporter(settings, config),
  /** The TLS files must be readable before anything starts. */
  preflight(config) {
    for (const [setting, file] of tlsFiles(config.tls)) {
      try {
        fs.accessSync(file, fs.constants.R_OK);
      } catch (err) {
        throw new Error(`tls.${setting} ${file}: ${(err as NodeJS.ErrnoException).code ?? (err as Error).message}`, {
          cause: err,
        });
      }
    }
  },
};
