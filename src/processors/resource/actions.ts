/**
 * The Collector's attribute actions on one attributes map, as a pure function: the
 * actions run in order, each seeing what the ones before it did.
 */
import { createHash } from 'node:crypto';
import type { AttributeValue, Attributes } from '@opentelemetry/api';

import type { AttributeAction } from './config.js';

function hash(value: AttributeValue): string {
  return createHash('sha256').update(String(value)).digest('hex');
}

function convert(value: AttributeValue, to: 'int' | 'double' | 'string'): AttributeValue | undefined {
  if (to === 'string') return String(value);
  const n = typeof value === 'boolean' ? Number(value) : Number(value);
  if (typeof value === 'string' && value.trim() === '') return undefined;
  if (!Number.isFinite(n)) return undefined;
  return to === 'int' ? Math.trunc(n) : n;
}

/** Returns new attributes with the actions applied; the input is not changed. */
export function applyActions(input: Attributes, actions: readonly AttributeAction[]): Attributes {
  const out: Attributes = { ...input };
  for (const a of actions) {
    const key = a.key ?? '';
    const present = key !== '' && out[key] !== undefined;
    switch (a.action) {
      case 'insert':
      case 'update':
      case 'upsert': {
        if ((a.action === 'insert' && present) || (a.action === 'update' && !present)) break;
        const value = a.from_attribute !== undefined ? out[a.from_attribute] : a.value;
        if (value !== undefined) out[key] = value;
        break;
      }
      case 'delete':
        for (const k of Object.keys(out)) if (k === key || a.pattern?.test(k)) delete out[k];
        break;
      case 'hash':
        for (const k of Object.keys(out)) {
          if ((k === key || a.pattern?.test(k)) && out[k] !== undefined) out[k] = hash(out[k]);
        }
        break;
      case 'extract': {
        const value = out[key];
        if (typeof value !== 'string' || !a.pattern) break;
        const groups = a.pattern.exec(value)?.groups;
        for (const [name, v] of Object.entries(groups ?? {})) if (v !== undefined) out[name] = v;
        break;
      }
      case 'convert': {
        if (!present || !a.converted_type) break;
        const value = convert(out[key]!, a.converted_type);
        if (value !== undefined) out[key] = value;
        break;
      }
    }
  }
  return out;
}
