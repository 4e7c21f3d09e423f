/**
 * A plain Resource of our own: what the agent needs of `@opentelemetry/resources`
 * (resourceFromAttributes, merge), without loading that package, `@opentelemetry/core`
 * and the semantic conventions it imports (about 8 MiB of RSS over `@opentelemetry/api`,
 * each imported alone). It
 * satisfies that package's Resource interface, which ResourceMetrics and ResourceLogs
 * carry, and follows its rules:
 *
 * - `attributes` is one object, the same at every read: exporters and the flows table
 *   cache by its identity.
 * - In `a.merge(b)`, b's values win; the merged attributes list b's keys first, as the
 *   SDK's do. The schema URL of a merge: an empty one (undefined or '') takes the other,
 *   equal ones are kept, a conflict gives undefined; an empty result is undefined.
 *
 * Values are kept as given, except undefined ones, which are dropped. The SDK also
 * drops empty keys and values that are not strings, numbers, booleans or homogeneous
 * arrays of them, with a warning; ours are never such: the agent sets strings, numbers
 * and booleans, and the resource processor's config admits no other values.
 * Attributes are never asynchronous.
 */
import type { Attributes } from '@opentelemetry/api';
import type { RawResourceAttribute, Resource } from '@opentelemetry/resources';

class PlainResource implements Resource {
  readonly attributes: Attributes;
  readonly schemaUrl: string | undefined;

  constructor(attributes: Attributes, schemaUrl: string | undefined) {
    const kept: Attributes = {};
    for (const [key, value] of Object.entries(attributes)) if (value !== undefined) kept[key] = value;
    this.attributes = kept;
    this.schemaUrl = schemaUrl;
  }

  merge(other: Resource | null): Resource {
    if (other == null) return this;
    const attributes = { ...other.attributes };
    for (const [key, value] of Object.entries(this.attributes))
      if (!Object.hasOwn(attributes, key)) attributes[key] = value;
    return new PlainResource(attributes, mergeSchemaUrl(this.schemaUrl, other.schemaUrl) || undefined);
  }

  getRawAttributes(): RawResourceAttribute[] {
    return Object.entries(this.attributes);
  }
}

function mergeSchemaUrl(mine: string | undefined, other: string | undefined): string | undefined {
  if (!mine) return other;
  if (!other || mine === other) return mine;
  return undefined;
}

/** A Resource with these attributes, as `@opentelemetry/resources` makes one. */
export function resourceFromAttributes(attributes: Attributes, options?: { schemaUrl?: string }): Resource {
  return new PlainResource(attributes, options?.schemaUrl);
}
