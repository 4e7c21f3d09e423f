/** Applies the configured attribute actions to the resource of every ResourceMetrics. */
import type { Resource } from '@opentelemetry/resources';

import type { Component, MetricsConsumer, ResourceMetrics } from '../../service/component.js';
import { resourceFromAttributes } from '../../service/resource.js';
import { applyActions } from './actions.js';
import type { ResourceConfig } from './config.js';

export class ResourceProcessor implements Component, MetricsConsumer {
  /**
   * The changed resource per input resource. The receiver and k8sattributes hand over the
   * same Resource for a series at every collection, so the actions run once per resource,
   * and the exporter sees a stable object.
   */
  private cache = new WeakMap<Resource, Resource>();

  constructor(
    private readonly config: ResourceConfig,
    private readonly next: MetricsConsumer,
  ) {}

  async start(): Promise<void> {}

  async shutdown(): Promise<void> {}

  consume(metrics: ResourceMetrics[]): Promise<void> {
    return this.next.consume(metrics.map((rm) => ({ ...rm, resource: this.changed(rm.resource) })));
  }

  private changed(resource: Resource): Resource {
    let out = this.cache.get(resource);
    if (!out) {
      out = resourceFromAttributes(applyActions(resource.attributes, this.config.attributes), {
        schemaUrl: resource.schemaUrl,
      });
      this.cache.set(resource, out);
    }
    return out;
  }
}
