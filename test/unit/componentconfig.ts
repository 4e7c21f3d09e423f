/** Reads a component's testdata/config.yaml: settings by component id, in file order. */
import fs from 'node:fs';
import { parse } from 'yaml';

import { type ConfigIssue, type Schema } from '../../src/service/schema.js';

export function readComponentConfigs(file: string): Map<string, unknown> {
  return new Map(Object.entries(parse(fs.readFileSync(file, 'utf8')) as Record<string, unknown>));
}

/** Parses one entry as the service would, under `kind.id`; returns the value or the errors. */
export function parseEntry<T>(
  schema: Schema<T>,
  section: string,
  id: string,
  settings: unknown,
): { value: T | undefined; errors: string[] } {
  const issues: ConfigIssue[] = [];
  const value = schema.parse(settings, `${section}.${id}`, issues);
  return { value, errors: issues.map((i) => `${i.path}: ${i.message}`) };
}
