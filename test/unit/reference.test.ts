import fs from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { describe, expect, it } from 'vitest';

import { registry } from '../../src/components.js';
import { configReference, metricsReference } from '../../src/service/reference.js';

const DOCS = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '../../docs');

describe('generated references', () => {
  it('docs/configuration.md is what the schemas generate (run npm run docs)', () => {
    expect(fs.readFileSync(path.join(DOCS, 'configuration.md'), 'utf8')).toBe(configReference(registry));
  });

  it("docs/metrics.md is what the components' metadata.yaml generate (run npm run docs)", () => {
    expect(fs.readFileSync(path.join(DOCS, 'metrics.md'), 'utf8')).toBe(metricsReference(registry));
  });
});
