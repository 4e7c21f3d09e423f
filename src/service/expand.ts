/**
 * Config-value substitution, after the Collector's confmap: in every string value (never
 * in a key) `${VAR}` and `${env:VAR}` are the environment variable, `${env:VAR:-default}`
 * gives a default for an unset one, `${file:/path}` is the file's content, and `$$` is a
 * literal `$` (so `$${env:VAR}` stays as written). A substituted value is never expanded
 * a second time.
 *
 * A value that is one reference and nothing else takes the type its text has in YAML, so
 * `queue_size: ${env:QUEUE}` is a number; an empty one leaves the key unset (its default
 * applies), as in the Collector. Inside a longer string the text goes in as it is.
 *
 * One difference on purpose: the Collector substitutes an empty string for an unset
 * variable without a default and logs a warning; dropreason refuses the config and names
 * the variable, since the agent would otherwise start with a setting nobody wrote.
 */
import fs from 'node:fs';

import { parse as parseYamlScalar } from 'yaml';

import type { ConfigIssue } from './schema.js';

/** The schemes a reference may name; `${NAME}` without one is `env`. */
export const SCHEMES = ['env', 'file'] as const;
const ENV_NAME = /^[A-Za-z_][A-Za-z0-9_]*$/;
/** Larger files are refused: a config value is a token, a certificate, a URL. */
export const MAX_FILE_BYTES = 1 << 20;

const REFERENCE = /\$\$|\$\{([^{}]*)\}/g;

export type Environment = Record<string, string | undefined>;

/** The text a reference stands for, or undefined after pushing an issue. */
function resolve(inner: string, whole: string, path: string, env: Environment, issues: ConfigIssue[]) {
  const colon = inner.indexOf(':');
  const scheme = colon < 0 ? 'env' : inner.slice(0, colon);
  const rest = colon < 0 ? inner : inner.slice(colon + 1);
  if (scheme === 'env') {
    const cut = rest.indexOf(':-');
    const name = cut < 0 ? rest : rest.slice(0, cut);
    if (!ENV_NAME.test(name)) {
      issues.push({
        path,
        message: `cannot expand ${whole}: an environment variable name is letters, digits and _, not starting with a digit; write \${NAME}, \${env:NAME} or \${env:NAME:-default}`,
      });
      return undefined;
    }
    const value = env[name];
    if (value !== undefined) return value;
    // As in the Collector: the default stands in for an unset variable only, not an empty one.
    if (cut >= 0) return rest.slice(cut + 2);
    issues.push({
      path,
      message: `environment variable ${name} is not set (give a default with \${env:${name}:-value})`,
    });
    return undefined;
  }
  if (scheme === 'file') return readFile(rest, whole, path, issues);
  issues.push({
    path,
    message: `cannot expand ${whole}: the scheme '${scheme}' is not supported; supported: ${SCHEMES.join(', ')}`,
  });
  return undefined;
}

/** A regular file of at most MAX_FILE_BYTES, without its last line break. */
function readFile(file: string, whole: string, path: string, issues: ConfigIssue[]): string | undefined {
  if (file === '') {
    issues.push({ path, message: `cannot expand ${whole}: name a file, as in \${file:/etc/dropreason/token}` });
    return undefined;
  }
  let fd: number | undefined;
  try {
    fd = fs.openSync(file, fs.constants.O_RDONLY | fs.constants.O_NONBLOCK);
    const stat = fs.fstatSync(fd);
    if (!stat.isFile()) throw new Error('not a regular file');
    if (stat.size > MAX_FILE_BYTES) throw new Error(`larger than ${MAX_FILE_BYTES} bytes`);
    const buffer = Buffer.alloc(MAX_FILE_BYTES + 1);
    const n = fs.readSync(fd, buffer, 0, buffer.length, 0);
    if (n > MAX_FILE_BYTES) throw new Error(`larger than ${MAX_FILE_BYTES} bytes`);
    return buffer
      .subarray(0, n)
      .toString('utf8')
      .replace(/\r?\n$/, '');
  } catch (err) {
    const reason = (err as NodeJS.ErrnoException).code ?? (err as Error).message;
    issues.push({ path, message: `cannot expand ${whole}: ${reason}` });
    return undefined;
  } finally {
    if (fd !== undefined) fs.closeSync(fd);
  }
}

/** A whole-value substitution typed as YAML would type it: numbers and booleans; empty is unset. */
function typed(text: string): string | number | boolean | null {
  if (text.trim() === '') return null;
  try {
    // Only where the text is the value's own spelling: `007` stays a string, so a token
    // or a header keeps its leading zeros.
    const value: unknown = parseYamlScalar(text);
    if ((typeof value === 'number' || typeof value === 'boolean') && String(value) === text) return value;
  } catch {
    // Not YAML: it stays the string it is.
  }
  return text;
}

/**
 * The value of one string scalar with its references substituted. `path` names it in the
 * issues. Returns the string unchanged where a reference cannot be resolved.
 */
export function expandValue(
  text: string,
  path: string,
  env: Environment,
  issues: ConfigIssue[],
): string | number | boolean | null {
  const refs = [...text.matchAll(REFERENCE)];
  if (refs.length === 0) return text;
  const before = issues.length;
  const only = refs.length === 1 && refs[0]![0] === text && refs[0]![0] !== '$$';
  const out = text.replace(REFERENCE, (whole, inner: string | undefined) => {
    if (inner === undefined) return '$';
    return resolve(inner, whole, path, env, issues) ?? whole;
  });
  if (issues.length > before) return text;
  return only ? typed(out) : out;
}
