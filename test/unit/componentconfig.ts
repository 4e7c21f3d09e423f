/** Reading a component's testdata/config.yaml and checking each of its entries. */
import fs from 'node:fs';
import { expect, it } from 'vitest';
import { parse } from 'yaml';

import { type ConfigIssue, type Schema } from '../../src/service/schema.js';

/** Settings by component id, in file order. */
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

/**
 * One test per entry of a component's testdata/config.yaml: the value it parses to, or its
 * exact errors; and one test that every entry has an expectation, in file order.
 */
export function configTableTests<T>(
  schema: Schema<T>,
  section: string,
  configs: Map<string, unknown>,
  expected: Record<string, T | string[]>,
): void {
  it('has an expectation for every entry', () => {
    expect([...configs.keys()]).toEqual(Object.keys(expected));
  });

  for (const [id, want] of Object.entries(expected)) {
    it(id, () => {
      const got = parseEntry(schema, section, id, configs.get(id));
      if (Array.isArray(want)) expect(got).toEqual({ value: undefined, errors: want });
      else expect(got).toEqual({ value: want, errors: [] });
    });
  }
}

/** Settings as a user writes them, parsed by the schema (defaults filled in); throws with the issues. */
export function parseSettings<T>(schema: Schema<T>, path: string, settings: unknown): T {
  const issues: ConfigIssue[] = [];
  const value = schema.parse(settings, path, issues);
  if (value === undefined || issues.length > 0)
    throw new Error(issues.map((i) => `${i.path}: ${i.message}`).join('\n'));
  return value;
}
