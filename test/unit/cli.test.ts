/** The command line, run as a child process from dist/ (compiled first when src/ is newer). */
import { spawnSync } from 'node:child_process';
import fs from 'node:fs';
import net from 'node:net';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { beforeAll, describe, expect, it } from 'vitest';

import { BAD_TYPES_ERRORS } from './service/bad_types_errors.js';

const ROOT = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '../..');
const CLI = path.join(ROOT, 'dist/cli.js');
const VERSION = (JSON.parse(fs.readFileSync(path.join(ROOT, 'package.json'), 'utf8')) as { version: string }).version;

function newestSource(dir: string): number {
  let newest = 0;
  for (const entry of fs.readdirSync(dir, { withFileTypes: true })) {
    const p = path.join(dir, entry.name);
    if (entry.isDirectory()) newest = Math.max(newest, newestSource(p));
    else if (entry.name.endsWith('.ts')) newest = Math.max(newest, fs.statSync(p).mtimeMs);
  }
  return newest;
}

beforeAll(() => {
  const built = fs.existsSync(CLI) ? fs.statSync(CLI).mtimeMs : 0;
  if (built >= newestSource(path.join(ROOT, 'src'))) return;
  const tsc = spawnSync(process.execPath, [path.join(ROOT, 'node_modules/typescript/bin/tsc'), '-p', 'tsconfig.json'], {
    cwd: ROOT,
    encoding: 'utf8',
  });
  if (!fs.existsSync(CLI) || fs.statSync(CLI).mtimeMs <= built) {
    throw new Error(`dist/cli.js is older than src/ and tsc could not rebuild it:\n${tsc.stdout}${tsc.stderr}`);
  }
  if (tsc.status !== 0) console.log(`tsc reported errors but emitted dist/:\n${tsc.stdout}`);
});

function cli(args: string[], env: NodeJS.ProcessEnv = {}) {
  const r = spawnSync(process.execPath, [CLI, ...args], {
    cwd: ROOT,
    encoding: 'utf8',
    env: { PATH: process.env['PATH'], ...env },
    timeout: 30_000,
  });
  return { code: r.status, stdout: r.stdout, stderr: r.stderr };
}

describe('dropreason CLI', () => {
  it('--help prints usage and exits 0', () => {
    const r = cli(['--help']);
    expect(r.code).toBe(0);
    expect(r.stderr).toBe('');
    expect(r.stdout.startsWith(`dropreason ${VERSION}: counts the packets the Linux kernel drops`)).toBe(true);
    for (const text of [
      'Usage:',
      'dropreason validate [--config FILE]',
      'dropreason top [OPTIONS]',
      '-c, --config FILE',
      'CAP_BPF and CAP_PERFMON',
    ]) {
      expect(r.stdout).toContain(text);
    }
    expect(cli(['-h']).stdout).toBe(r.stdout);
  });

  it('--version prints the package version', () => {
    expect(cli(['--version'])).toEqual({ code: 0, stdout: `dropreason ${VERSION}\n`, stderr: '' });
    expect(cli(['-v']).stdout).toBe(`dropreason ${VERSION}\n`);
  });

  it('runs through bin/dropreason too', () => {
    const r = spawnSync('sh', [path.join(ROOT, 'bin/dropreason'), '--version'], { encoding: 'utf8' });
    expect(r.status).toBe(0);
    expect(r.stdout).toBe(`dropreason ${VERSION}\n`);
  });

  it('validate accepts the embedded default config', () => {
    expect(cli(['validate'])).toEqual({
      code: 0,
      stdout: `${path.join(ROOT, 'otel-config.yaml')}: valid; pipelines: metrics (dropreason -> prometheus,debug)\n`,
      stderr: '',
    });
    expect(cli(['validate', '--config', 'otel-config.yaml']).stdout).toBe(
      'otel-config.yaml: valid; pipelines: metrics (dropreason -> prometheus,debug)\n',
    );
  });

  it('validate lists every pipeline of a valid config', () => {
    const r = cli(['validate', '-c', 'test/unit/testdata/config/good.yaml']);
    expect(r.code).toBe(0);
    expect(r.stdout).toBe(
      'test/unit/testdata/config/good.yaml: valid; pipelines: metrics (dropreason -> prometheus,debug); ' +
        'metrics/internal (dropreason -> prometheus/internal)\n',
    );
  });

  it('validate reports every error of a bad config with its YAML path and exits 2', () => {
    const file = 'test/unit/testdata/config/bad_types.yaml';
    const r = cli(['validate', '--config', file]);
    expect(r.code).toBe(2);
    expect(r.stdout).toBe('');
    expect(r.stderr).toBe(
      [`dropreason: invalid configuration in ${file}:`, ...BAD_TYPES_ERRORS.map((e) => `  ${e}`), ''].join('\n'),
    );
  });

  it('running with a bad config exits 2 before loading anything', () => {
    const r = cli(['--config', 'test/unit/testdata/config/bad_port.yaml']);
    expect(r.code).toBe(2);
    expect(r.stderr).toContain(
      '  exporters.prometheus.endpoint: must be an endpoint host:port with a port from 1 to 65535, but was "127.0.0.1:70000"\n',
    );
  });

  it('expands environment variables from its environment', () => {
    const file = 'test/unit/testdata/config/good_env.yaml';
    expect(cli(['validate', '-c', file], { DROPREASON_TEST_INTERVAL: '30s' }).code).toBe(0);
    const r = cli(['validate', '-c', file]);
    expect(r.code).toBe(2);
    expect(r.stderr).toContain('environment variable DROPREASON_TEST_INTERVAL is not set');
  });

  it('says which config file it cannot read', () => {
    expect(cli(['validate', '--config', '/nonexistent/dropreason.yaml'])).toEqual({
      code: 2,
      stdout: '',
      stderr: 'dropreason: cannot read config /nonexistent/dropreason.yaml: ENOENT\n',
    });
    expect(cli(['validate', '--config', 'test/unit']).stderr).toBe(
      'dropreason: cannot read config test/unit: EISDIR\n',
    );
  });

  it('refuses an unknown flag and points to --help', () => {
    const r = cli(['--bogus']);
    expect(r.code).toBe(2);
    expect(r.stdout).toBe('');
    expect(r.stderr).toMatch(/^dropreason: Unknown option '--bogus'/);
    expect(r.stderr.endsWith('\nRun dropreason --help for usage.\n')).toBe(true);
  });

  it('refuses an unknown command', () => {
    expect(cli(['frobnicate'])).toEqual({
      code: 2,
      stdout: '',
      stderr: "dropreason: unknown command 'frobnicate': use run (the default), validate or top\n",
    });
    expect(cli(['validate', 'extra']).code).toBe(2);
  });
});

describe('dropreason top', () => {
  it('--help prints its own usage', () => {
    const r = cli(['top', '--help']);
    expect(r.code).toBe(0);
    expect(r.stderr).toBe('');
    for (const text of [
      'dropreason top [--advanced]',
      '--endpoint URL',
      '--count N',
      '--interval DUR',
      '--netns PATH',
    ]) {
      expect(r.stdout).toContain(text);
    }
    expect(cli(['top', '-h']).stdout).toBe(r.stdout);
  });

  it('refuses bad options with exit 2 and points to its help', () => {
    const r = cli(['top', '--count', '0']);
    expect(r).toEqual({
      code: 2,
      stdout: '',
      stderr:
        "dropreason: top: --count must be a whole number of refreshes, 1 or more, but was '0'\n" +
        'Run dropreason top --help for usage.\n',
    });
    expect(cli(['top', '--endpoint', '127.0.0.1:9', '--netns', '/run/netns/x']).code).toBe(2);
    expect(cli(['top', '--bogus']).stderr).toMatch(/^dropreason: top: Unknown option '--bogus'/);
  });

  it('keeps trying an endpoint it cannot reach, saying why each time', async () => {
    // A port that was just free: nothing listens there.
    const port = await new Promise<number>((resolve) => {
      const s = net.createServer().listen(0, '127.0.0.1', () => {
        const p = (s.address() as net.AddressInfo).port;
        s.close(() => resolve(p));
      });
    });
    const r = cli(['top', '--endpoint', `127.0.0.1:${port}`, '--interval', '200ms', '--count', '3']);
    expect(r.code).toBe(1);
    expect(r.stdout).toBe('');
    expect(r.stderr).toBe(
      `dropreason: cannot read http://127.0.0.1:${port}/metrics: ECONNREFUSED; retrying every 200ms\n`.repeat(3),
    );
  });
});
