/**
 * Config-value substitution, against the Collector's confmap rules: `${VAR}` is
 * `${env:VAR}`, `$$` is a literal `$`, `:-` stands in for an unset variable only,
 * `${file:...}` is a file's content, a whole-value reference is typed as YAML, keys are
 * never expanded.
 */
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';

import { registry } from '../../../src/components.js';
import { parseConfig } from '../../../src/service/config.js';
import { expandValue, MAX_FILE_BYTES } from '../../../src/service/expand.js';
import type { ConfigIssue } from '../../../src/service/schema.js';

const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'dropreason-expand-'));
const token = path.join(dir, 'token');
fs.writeFileSync(token, 's3cr3t\n');
const big = path.join(dir, 'big');
fs.writeFileSync(big, Buffer.alloc(MAX_FILE_BYTES + 1, 'a'));
afterAll(() => fs.rmSync(dir, { recursive: true, force: true }));

const ENV = { HOST: 'collector', PORT: '4317', EMPTY: '', ZEROS: '007', FLAG: 'true', NESTED: '${env:HOST}' };

function expand(text: string): { value: unknown; errors: string[] } {
  const issues: ConfigIssue[] = [];
  const value = expandValue(text, 'exporters.otlp.endpoint', ENV, issues);
  return { value, errors: issues.map((i) => `${i.path}: ${i.message}`) };
}

describe('config-value substitution', () => {
  const cases: Array<[string, unknown]> = [
    ['${HOST}:${PORT}', 'collector:4317'],
    ['${env:HOST}:${env:PORT}', 'collector:4317'],
    ['${env:UNSET:-localhost}:4317', 'localhost:4317'],
    ['${env:UNSET:-}x', 'x'],
    ['a${env:EMPTY:-default}b', 'ab'], // set but empty: the default does not apply
    ['price: $$5', 'price: $5'],
    ['$${env:HOST}', '${env:HOST}'],
    ['$$$${HOST}', '$${HOST}'],
    ['$$${HOST}', '$collector'],
    ['$HOST and $ alone', '$HOST and $ alone'], // a bare $VAR is not a reference
    ['${NESTED}', '${env:HOST}'], // not expanded a second time
    ['${PORT}', 4317], // a whole value takes its YAML type
    ['${FLAG}', true],
    ['${ZEROS}', '007'], // unless that would change its spelling
    ['${EMPTY}', null], // empty: the key is left unset, so its default applies
    [`Bearer \${file:${token}}`, 'Bearer s3cr3t'],
    [`\${file:${token}}`, 's3cr3t'],
  ];
  for (const [text, want] of cases) {
    it(`${text} → ${JSON.stringify(want)}`, () => expect(expand(text)).toEqual({ value: want, errors: [] }));
  }

  const bad: Array<[string, string]> = [
    ['${UNSET}', 'environment variable UNSET is not set (give a default with ${env:UNSET:-value})'],
    [
      '${env:MY-VAR}',
      'cannot expand ${env:MY-VAR}: an environment variable name is letters, digits and _, not starting with a digit; write ${NAME}, ${env:NAME} or ${env:NAME:-default}',
    ],
    [
      '${https://vault/x}',
      "cannot expand ${https://vault/x}: the scheme 'https' is not supported; supported: env, file",
    ],
    [`\${file:${dir}/missing}`, `cannot expand \${file:${dir}/missing}: ENOENT`],
    [`\${file:${dir}}`, `cannot expand \${file:${dir}}: not a regular file`],
    ['${file:/dev/zero}', 'cannot expand ${file:/dev/zero}: not a regular file'],
    [`\${file:${big}}`, `cannot expand \${file:${big}}: larger than ${MAX_FILE_BYTES} bytes`],
    ['${file:}', 'cannot expand ${file:}: name a file, as in ${file:/etc/dropreason/token}'],
  ];
  for (const [text, message] of bad) {
    it(`refuses ${text}`, () =>
      expect(expand(`x ${text}`)).toEqual({ value: `x ${text}`, errors: [`exporters.otlp.endpoint: ${message}`] }));
  }

  it('expands values of a whole config, never keys, and types whole-value references', () => {
    const text = `receivers:
  dropreason:
exporters:
  otlp:
    endpoint: \${HOST}:\${PORT}
    headers:
      x-token: \${file:${token}}
      cost: $$1
    sending_queue:
      queue_size: \${PORT}
service:
  pipelines:
    metrics: { receivers: [dropreason], exporters: [otlp] }
`;
    const config = parseConfig(text, registry, ENV).exporters.get('otlp')!.config as {
      endpoint: { host: string; port: number };
      headers: Record<string, string>;
      sending_queue: { queue_size: number };
    };
    expect(config.endpoint).toMatchObject({ host: 'collector', port: 4317 });
    expect(config.headers).toEqual({ 'x-token': 's3cr3t', cost: '$1' });
    expect(config.sending_queue.queue_size).toBe(4317);
    // A key is not expanded: the header name is checked as written.
    expect(() => parseConfig(text.replace('x-token', '${HOST}'), registry, ENV)).toThrow(
      'exporters.otlp.headers.${HOST}: is not a valid name',
    );
  });
});
