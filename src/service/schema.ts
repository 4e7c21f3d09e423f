/**
 * A small schema language for component configs. A schema both parses a YAML value into
 * a typed config, collecting every error with its YAML path, and describes itself, so
 * the configuration reference can be generated from the same source.
 */
import { formatDuration, parseDuration } from './duration.js';

export interface ConfigIssue {
  /** YAML path of the offending value, e.g. `receivers.dropreason.collection_interval`. */
  path: string;
  message: string;
}

export interface FieldDoc {
  type: string;
  description?: string;
  default?: string;
  fields?: Record<string, FieldDoc>;
}

export interface Schema<T> {
  /** Returns the parsed value, or undefined after pushing at least one issue. */
  parse(value: unknown, path: string, issues: ConfigIssue[]): T | undefined;
  doc(): FieldDoc;
}

interface Common<T> {
  description?: string;
  default?: T;
}

export function describe(value: unknown): string {
  if (value === null || value === undefined) return 'empty';
  if (typeof value === 'string') return JSON.stringify(value);
  if (Array.isArray(value)) return 'a list';
  if (typeof value === 'object') return 'a map';
  return String(value);
}

function fail(issues: ConfigIssue[], path: string, message: string): undefined {
  issues.push({ path, message });
  return undefined;
}

function docOf<T>(type: string, opts: Common<T>, show: (v: T) => string = (v) => String(v)): FieldDoc {
  const doc: FieldDoc = { type };
  if (opts.description) doc.description = opts.description;
  if (opts.default !== undefined) doc.default = show(opts.default);
  return doc;
}

export function string(opts: Common<string> & { nonEmpty?: boolean } = {}): Schema<string> {
  return {
    parse(value, path, issues) {
      if (value === null || value === undefined) {
        if (opts.default !== undefined) return opts.default;
        return fail(issues, path, 'is required: a string');
      }
      if (typeof value !== 'string') return fail(issues, path, `must be a string, but was ${describe(value)}`);
      if (opts.nonEmpty && value === '') return fail(issues, path, 'must not be empty');
      return value;
    },
    doc: () => docOf('string', opts, (v) => JSON.stringify(v)),
  };
}

export function oneOf<const V extends string>(values: readonly V[], opts: Common<V> = {}): Schema<V> {
  const accepted = values.map((v) => `'${v}'`).join(', ');
  return {
    parse(value, path, issues) {
      if ((value === null || value === undefined) && opts.default !== undefined) return opts.default;
      if (typeof value === 'string' && (values as readonly string[]).includes(value)) return value as V;
      return fail(issues, path, `must be one of ${accepted}, but was ${describe(value)}`);
    },
    doc: () => docOf(`one of ${accepted}`, opts),
  };
}

export function boolean(opts: Common<boolean> = {}): Schema<boolean> {
  return {
    parse(value, path, issues) {
      if ((value === null || value === undefined) && opts.default !== undefined) return opts.default;
      if (typeof value === 'boolean') return value;
      return fail(issues, path, `must be true or false, but was ${describe(value)}`);
    },
    doc: () => docOf('boolean', opts),
  };
}

export function integer(opts: Common<number> & { min?: number; max?: number } = {}): Schema<number> {
  const { min = Number.MIN_SAFE_INTEGER, max = Number.MAX_SAFE_INTEGER } = opts;
  return {
    parse(value, path, issues) {
      if ((value === null || value === undefined) && opts.default !== undefined) return opts.default;
      if (typeof value !== 'number' || !Number.isInteger(value)) {
        return fail(issues, path, `must be an integer, but was ${describe(value)}`);
      }
      if (value < min || value > max) {
        return fail(issues, path, `must be between ${min} and ${max}, but was ${value}`);
      }
      return value;
    },
    doc: () => docOf('integer', opts),
  };
}

/** A duration such as `10s`, `500ms` or `1m30s`, parsed to milliseconds. */
export function duration(opts: Common<number> & { minMs?: number; maxMs?: number } = {}): Schema<number> {
  const { minMs = 0, maxMs = 24 * 3600 * 1000 } = opts;
  return {
    parse(value, path, issues) {
      if ((value === null || value === undefined) && opts.default !== undefined) return opts.default;
      const ms = typeof value === 'string' ? parseDuration(value) : undefined;
      if (ms === undefined) {
        return fail(issues, path, `must be a duration such as 10s, 500ms or 1m, but was ${describe(value)}`);
      }
      if (ms < minMs || ms > maxMs) {
        return fail(
          issues,
          path,
          `must be between ${formatDuration(minMs)} and ${formatDuration(maxMs)}, but was ${describe(value)}`,
        );
      }
      return ms;
    },
    doc: () => docOf('duration', opts, formatDuration),
  };
}

/** `host:port`, `[v6]:port` or `:port` (all addresses). */
export interface Endpoint {
  host: string;
  port: number;
}

export function endpoint(opts: Common<string> = {}): Schema<Endpoint> {
  return {
    parse(value, path, issues) {
      const raw = value === null || value === undefined ? opts.default : value;
      if (typeof raw !== 'string') {
        return fail(issues, path, `must be an endpoint such as 127.0.0.1:9464, but was ${describe(value)}`);
      }
      const m = /^(?:\[([0-9a-fA-F:.]+)\]|([^:[\]]*)):(\d{1,5})$/.exec(raw);
      const port = m ? Number(m[3]) : NaN;
      if (!m || port < 1 || port > 65535) {
        return fail(
          issues,
          path,
          `must be an endpoint host:port with a port from 1 to 65535, but was ${describe(raw)}`,
        );
      }
      return { host: m[1] ?? m[2] ?? '', port };
    },
    doc: () => docOf('endpoint (host:port)', opts, (v) => v),
  };
}

export function list<T>(item: Schema<T>, opts: Common<T[]> & { maxItems?: number } = {}): Schema<T[]> {
  const { maxItems = 10_000 } = opts;
  return {
    parse(value, path, issues) {
      if ((value === null || value === undefined) && opts.default !== undefined) return [...opts.default];
      if (!Array.isArray(value)) return fail(issues, path, `must be a list, but was ${describe(value)}`);
      if (value.length > maxItems)
        return fail(issues, path, `must have at most ${maxItems} items, but has ${value.length}`);
      const before = issues.length;
      const out = value.map((v, i) => item.parse(v, `${path}[${i}]`, issues));
      return issues.length === before ? (out as T[]) : undefined;
    },
    doc: () => {
      const itemDoc = item.doc();
      const doc = docOf(`list of ${itemDoc.type}`, opts, (v) => JSON.stringify(v));
      // A list of maps shows its items' keys, as `list.key`.
      return itemDoc.fields ? { ...doc, fields: itemDoc.fields } : doc;
    },
  };
}

/** A map of string keys (matching keyPattern) to string values, such as headers or labels. */
export function stringMap(
  opts: Common<Record<string, string>> & { keyPattern?: RegExp; keyRule?: string; maxEntries?: number } = {},
): Schema<Record<string, string>> {
  const { maxEntries = 1000 } = opts;
  return {
    parse(value, path, issues) {
      if ((value === null || value === undefined) && opts.default !== undefined) return { ...opts.default };
      if (typeof value !== 'object' || value === null || Array.isArray(value)) {
        return fail(issues, path, `must be a map of names to strings, but was ${describe(value)}`);
      }
      const entries = Object.entries(value as Record<string, unknown>);
      if (entries.length > maxEntries)
        return fail(issues, path, `must have at most ${maxEntries} entries, but has ${entries.length}`);
      const before = issues.length;
      const out: Record<string, string> = {};
      for (const [k, v] of entries) {
        if (opts.keyPattern && !opts.keyPattern.test(k)) {
          issues.push({
            path: join(path, k),
            message: `is not a valid name: ${opts.keyRule ?? `must match ${opts.keyPattern}`}`,
          });
        } else if (typeof v !== 'string' && typeof v !== 'number' && typeof v !== 'boolean') {
          issues.push({ path: join(path, k), message: `must be a string, but was ${describe(v)}` });
        } else {
          out[k] = String(v);
        }
      }
      return issues.length === before ? out : undefined;
    },
    doc: () => docOf('map of string to string', opts, (v) => JSON.stringify(v)),
  };
}

export function optional<T>(inner: Schema<T>): Schema<T | undefined> {
  return {
    parse(value, path, issues) {
      if (value === null || value === undefined) return undefined;
      return inner.parse(value, path, issues);
    },
    doc: () => ({ ...inner.doc(), type: `${inner.doc().type} (optional)` }),
  };
}

export type Fields = Record<string, Schema<unknown>>;
export type Parsed<F extends Fields> = { [K in keyof F]: F[K] extends Schema<infer T> ? T : never };

/** A map with known keys; unknown keys are errors that list the accepted ones. */
export function object<F extends Fields>(fields: F, opts: { description?: string } = {}): Schema<Parsed<F>> {
  const accepted = Object.keys(fields);
  return {
    parse(value, path, issues) {
      const raw = value === null || value === undefined ? {} : value;
      if (typeof raw !== 'object' || Array.isArray(raw)) {
        return fail(issues, path, `must be a map, but was ${describe(value)}`);
      }
      const before = issues.length;
      const record = raw as Record<string, unknown>;
      for (const key of Object.keys(record)) {
        if (!Object.hasOwn(fields, key)) {
          const keys = accepted.length ? accepted.join(', ') : 'none';
          issues.push({ path: join(path, key), message: `unknown key; accepted keys are: ${keys}` });
        }
      }
      const out: Record<string, unknown> = {};
      for (const [key, schema] of Object.entries(fields)) {
        out[key] = schema.parse(record[key], join(path, key), issues);
      }
      return issues.length === before ? (out as Parsed<F>) : undefined;
    },
    doc() {
      const doc: FieldDoc = { type: 'map', fields: {} };
      if (opts.description) doc.description = opts.description;
      for (const [key, schema] of Object.entries(fields)) doc.fields![key] = schema.doc();
      return doc;
    },
  };
}

/** Runs `check` on a value that parsed cleanly; `check` adds issues for rules across fields. */
export function checked<T>(
  inner: Schema<T>,
  check: (value: T, path: string, issues: ConfigIssue[]) => void,
): Schema<T> {
  return {
    parse(value, path, issues) {
      const parsed = inner.parse(value, path, issues);
      if (parsed === undefined) return undefined;
      const before = issues.length;
      check(parsed, path, issues);
      return issues.length === before ? parsed : undefined;
    },
    doc: inner.doc,
  };
}

export function join(path: string, key: string): string {
  return path ? `${path}.${key}` : key;
}

export function formatIssues(issues: ConfigIssue[]): string {
  return issues.map((i) => `${i.path || '(top level)'}: ${i.message}`).join('\n');
}
