/**
 * The resource processor's settings: `attributes`, a list of actions on the resource
 * attributes, with the Collector's attribute-action keys (its attraction package).
 */
import {
  type ConfigIssue,
  checked,
  describe,
  join,
  list,
  object,
  oneOf,
  optional,
  type Parsed,
  type Schema,
  string,
} from '../../service/schema.js';

export const ACTIONS = ['insert', 'update', 'upsert', 'delete', 'hash', 'extract', 'convert'] as const;
export type Action = (typeof ACTIONS)[number];

/** A string, number or boolean, kept with its type (an attribute value). */
function scalar(description: string): Schema<string | number | boolean | undefined> {
  return {
    parse(value, path, issues) {
      if (value === null || value === undefined) return undefined;
      if (typeof value === 'string' || typeof value === 'number' || typeof value === 'boolean') return value;
      issues.push({ path, message: `must be a string, number or boolean, but was ${describe(value)}` });
      return undefined;
    },
    doc: () => ({ type: 'string, number or boolean (optional)', description }),
  };
}

/** A regular expression in the Collector's (Go RE2) spelling; `(?P<name>` is accepted. */
function regex(description: string): Schema<RegExp | undefined> {
  return {
    parse(value, path, issues) {
      if (value === null || value === undefined) return undefined;
      if (typeof value !== 'string') {
        issues.push({ path, message: `must be a regular expression, but was ${describe(value)}` });
        return undefined;
      }
      try {
        return new RegExp(value.replace(/\(\?P</g, '(?<'));
      } catch (err) {
        issues.push({ path, message: `is not a valid regular expression: ${(err as Error).message}` });
        return undefined;
      }
    },
    doc: () => ({ type: 'regular expression (optional)', description }),
  };
}

const actionFields = {
  key: optional(string({ description: 'The attribute the action works on.' })),
  action: oneOf(ACTIONS, {
    description:
      'insert: set key where it is absent; update: set key where it is present; upsert: set key either way; delete: remove key (or every key matching pattern); hash: replace the value by its SHA-256 (hex); extract: set the named groups of pattern, matched against the value of key, as attributes; convert: change the type of the value to converted_type.',
  }),
  value: scalar('The value insert, update and upsert set.'),
  from_attribute: optional(
    string({ nonEmpty: true, description: 'For insert, update and upsert: take the value of this attribute.' }),
  ),
  from_context: optional(
    string({
      description:
        'Accepted only to say why not: in the Collector it reads request metadata (headers of an incoming OTLP request); the dropreason receiver reads the kernel, so there is no request.',
    }),
  ),
  pattern: regex(
    'For delete and hash: the keys to act on instead of key; for extract: the expression with named groups matched against the value of key.',
  ),
  converted_type: optional(
    oneOf(['int', 'double', 'string'] as const, { description: 'For convert: the type to convert the value to.' }),
  ),
};
export type AttributeAction = Parsed<typeof actionFields>;

const VALUE_ACTIONS: readonly Action[] = ['insert', 'update', 'upsert'];

function checkAction(a: AttributeAction, path: string, issues: ConfigIssue[]): void {
  const at = (key: string, message: string) => issues.push({ path: join(path, key), message });
  if (a.from_context !== undefined) {
    at(
      'from_context',
      'is not supported: it reads the metadata of an incoming request, and the dropreason receiver reads the kernel, not requests; use value or from_attribute',
    );
  }
  const needsKey = !(['delete', 'hash'] as Action[]).includes(a.action) || a.pattern === undefined;
  if (needsKey && !a.key) {
    at(
      'key',
      `is required for action ${a.action}${a.action === 'delete' || a.action === 'hash' ? ' unless pattern is set' : ''}`,
    );
  }
  if (VALUE_ACTIONS.includes(a.action)) {
    const sources = [a.value !== undefined, a.from_attribute !== undefined, a.from_context !== undefined].filter(
      Boolean,
    );
    if (sources.length !== 1) {
      at('value', `action ${a.action} needs exactly one of value or from_attribute, but ${sources.length} were given`);
    }
  } else {
    if (a.value !== undefined) at('value', `is only used with insert, update and upsert, not ${a.action}`);
    if (a.from_attribute !== undefined) {
      at('from_attribute', `is only used with insert, update and upsert, not ${a.action}`);
    }
  }
  if (a.action === 'extract') {
    if (a.pattern === undefined) at('pattern', 'is required for action extract: an expression with named groups');
    else if (!/\(\?<[A-Za-z_]/.test(a.pattern.source)) {
      at(
        'pattern',
        `must have at least one named group (?P<name>...) for action extract, but was "${a.pattern.source}"`,
      );
    }
  } else if (a.pattern !== undefined && a.action !== 'delete' && a.action !== 'hash') {
    at('pattern', `is only used with delete, hash and extract, not ${a.action}`);
  }
  if (a.action === 'convert' && a.converted_type === undefined) {
    at('converted_type', "is required for action convert: one of 'int', 'double', 'string'");
  } else if (a.action !== 'convert' && a.converted_type !== undefined) {
    at('converted_type', `is only used with convert, not ${a.action}`);
  }
}

const fields = {
  attributes: checked(
    list(checked(object(actionFields), checkAction), {
      description: 'The actions, applied in order; each item has the keys below.',
    }),
    (actions, path, issues) => {
      if (actions.length === 0) issues.push({ path, message: 'must list at least one action' });
    },
  ),
};

export const configSchema = object(fields, {
  description:
    'Changes the resource attributes of every series (e.g. adds k8s.cluster.name), applying attributes actions in order, as the Collector does. The resource is the node (host.name, k8s.node.name) for the node totals and the pod for pod-level series; what the prometheus exporter shows of it depends on its resource_to_telemetry_conversion.',
});
export type ResourceConfig = Parsed<typeof fields>;
