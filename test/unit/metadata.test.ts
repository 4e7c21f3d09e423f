import { spawnSync } from 'node:child_process';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { describe, expect, it } from 'vitest';

const ROOT = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '../..');

describe('generated metadata', () => {
  it('every metadata.generated.ts is what its metadata.yaml makes (run npm run build:gen)', () => {
    const run = spawnSync(process.execPath, ['scripts/gen-metadata.mjs', '--check'], { cwd: ROOT, encoding: 'utf8' });
    expect(run.stderr).toBe('');
    expect(run.status).toBe(0);
  });
});
