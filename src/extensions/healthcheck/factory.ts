import type { ExtensionFactory, Host } from '../../service/component.js';
import { configSchema, type HealthCheckConfig } from './config.js';
import { HealthCheckExtension } from './extension.js';

/** Without a service to ask (a component built alone), nothing is healthy. */
const noHost: Host = { health: () => 'no service is running' };

export const healthCheckExtensionFactory: ExtensionFactory<HealthCheckConfig> = {
  type: 'health_check',
  kind: 'extension',
  configSchema,
  create: (settings, config) => new HealthCheckExtension(settings, config, settings.host ?? noHost),
};
