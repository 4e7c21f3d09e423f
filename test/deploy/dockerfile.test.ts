/**
 * The Dockerfile, without Docker (these machines have no engine). Its build stage's RUN
 * steps run in a clean directory standing in for the image's filesystem, in order, with
 * COPY done from this repository; then its runtime stage's COPY layout is assembled in
 * another, and the result must start: --version, validate, and as root a short run as the
 * image's user, in a network namespace of its own, until its HEALTHCHECK passes.
 * Steps that need the image's distribution (apt-get, useradd) are not run: the packages
 * they name must exist in this Debian machine's apt-cache.
 */
import { type ChildProcess, execFileSync, spawn, spawnSync } from 'node:child_process';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { parse } from 'yaml';

import { CAP } from '../../src/receiver/dropreason/privileges.js';
import {
  aptInstallPackages,
  type Instruction,
  parseCopy,
  parseDockerfile,
  parseHealthcheck,
  parsePairs,
  type Stage,
} from './dockerfile.js';

const ROOT = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '../..');
const stages = parseDockerfile(fs.readFileSync(path.join(ROOT, 'Dockerfile'), 'utf8'));
const pkg = JSON.parse(fs.readFileSync(path.join(ROOT, 'package.json'), 'utf8')) as {
  version: string;
  license: string;
};
const isRoot = process.getuid?.() === 0;
const haveSetcap = spawnSync('sh', ['-c', 'command -v setcap'], { stdio: 'ignore' }).status === 0;
/** The Node running this test stands in for the image's, which lives in /usr/local. */
const NODE_PREFIX = path.dirname(path.dirname(fs.realpathSync(process.execPath)));

const build = stages.find((s) => s.name === 'build')!;
const runtime = stages.at(-1)!;

function only(stage: Stage, op: string): Instruction | undefined {
  const found = stage.instructions.filter((i) => i.op === op);
  if (found.length > 1) throw new Error(`more than one ${op} in stage ${stage.name}`);
  return found[0];
}

const healthcheck = parseHealthcheck(only(runtime, 'HEALTHCHECK')!.args);
const entrypoint = JSON.parse(only(runtime, 'ENTRYPOINT')!.args) as string[];
const [uid, gid] = only(runtime, 'USER')!.args.split(':');
const runRuns = (stage: Stage) => stage.instructions.filter((i) => i.op === 'RUN').map((i) => i.args);
const aptPackages = (stage: Stage) => runRuns(stage).flatMap(aptInstallPackages);
/** Packages a stage installs only to use them in the same step, e.g. libcap2-bin for setcap. */
const purged = (stage: Stage) =>
  runRuns(stage).flatMap((r) => [...r.matchAll(/apt-get\s+purge\s+([^&|;]*)/g)].flatMap((m) => m[1]!.split(/\s+/)));

/** .dockerignore as a test of a path relative to the context. */
function dockerignore(): (rel: string) => boolean {
  const patterns = fs
    .readFileSync(path.join(ROOT, '.dockerignore'), 'utf8')
    .split('\n')
    .map((l) => l.trim())
    .filter((l) => l && !l.startsWith('#'));
  const regexps = patterns.map((p) => {
    const body = p
      .replace(/\/$/, '')
      .split('*')
      .map((s) => s.replace(/[.+?^${}()|[\]\\]/g, '\\$&'))
      .join('[^/]*');
    return new RegExp(`^${body}(/|$)`);
  });
  return (rel) => regexps.some((r) => r.test(rel));
}
const ignored = dockerignore();

/** The Debian packages whose shared libraries an ELF file loads, by ldd and one dpkg -S. */
function linkedPackages(file: string): Set<string> {
  const out = execFileSync('ldd', [file], { encoding: 'utf8' });
  const libs = [...out.matchAll(/=>\s+(\/\S+)/g)].map((m) => m[1]!);
  // With a merged /usr, dpkg may know a library by another of its paths.
  const candidates = (lib: string) => [lib, fs.realpathSync(lib), `/usr${lib}`];
  const r = spawnSync('dpkg', ['-S', ...new Set(libs.flatMap(candidates))], { encoding: 'utf8' });
  const owner = new Map([...r.stdout.matchAll(/^([^:\s]+)(?::\w+)?: (\S+)$/gm)].map((m) => [m[2]!, m[1]!]));
  return new Set(
    libs.map((lib) => {
      const pkg = candidates(lib)
        .map((c) => owner.get(c))
        .find(Boolean);
      if (!pkg) throw new Error(`no Debian package holds ${lib}`);
      return pkg;
    }),
  );
}

describe('Dockerfile', () => {
  it('builds in a Debian Node 24 image and runs in a slim one, as a non-root user', () => {
    expect(stages.map((s) => s.name)).toEqual(['build', 'runtime']);
    expect(build.image).toMatch(/^node:24-(bookworm|trixie)$/);
    expect(runtime.image).toBe(`${build.image}-slim`);
    // Numeric, so that Kubernetes' runAsNonRoot can check it.
    expect(uid).toMatch(/^[1-9][0-9]*$/);
    expect(gid).toMatch(/^[1-9][0-9]*$/);
    expect(entrypoint).toEqual(['/app/bin/dropreason']);
  });

  it('labels the image with the package version and license', () => {
    const labels: Record<string, string> = {};
    for (const ins of runtime.instructions.filter((i) => i.op === 'LABEL')) Object.assign(labels, parsePairs(ins.args));
    const version = parsePairs(only(runtime, 'ARG')!.args)['VERSION'];
    expect(version).toBe(pkg.version);
    expect(labels).toMatchObject({
      'org.opencontainers.image.title': 'dropreason',
      'org.opencontainers.image.version': '${VERSION}',
      'org.opencontainers.image.licenses': pkg.license,
    });
  });

  it("checks the health of the agent's own metrics endpoint of the embedded config", () => {
    const config = parse(fs.readFileSync(path.join(ROOT, 'otel-config.yaml'), 'utf8')) as {
      service: { telemetry: { metrics: { level: string; address: string } } };
    };
    expect(config.service.telemetry.metrics.level).not.toBe('none');
    expect(healthcheck.cmd.slice(0, 2)).toEqual(['node', '-e']);
    expect(healthcheck.cmd[2]).toContain(`fetch('http://${config.service.telemetry.metrics.address}/metrics')`);
  });

  it('installs Debian packages that exist', () => {
    const packages = [...aptPackages(build), ...aptPackages(runtime)];
    expect(packages).toEqual(expect.arrayContaining(['clang', 'libbpf-dev', 'libbpf1']));
    // One apt-cache call: each takes seconds on a busy machine.
    const policy = execFileSync('apt-cache', ['policy', ...packages], { encoding: 'utf8' });
    const known = new Map(
      [...policy.matchAll(/^(\S+):\n\s+Installed: .*\n\s+Candidate: (.*)$/gm)].map((m) => [m[1]!, m[2]!]),
    );
    expect(packages.filter((p) => !known.has(p) || known.get(p) === '(none)')).toEqual([]);
  });

  it('copies only files the build context holds and .dockerignore keeps', () => {
    const sources = stages
      .flatMap((s) => s.instructions.filter((i) => i.op === 'COPY').map((i) => parseCopy(i.args)))
      .filter((c) => c.from === undefined)
      .flatMap((c) => c.sources.map((src) => src.replace(/\/$/, '')));
    expect(sources.filter((src) => !fs.existsSync(path.join(ROOT, src)))).toEqual([]);
    expect(sources.filter((src) => ignored(src))).toEqual([]);
  });

  describe('built and run outside Docker', () => {
    let work = '';
    const roots = { build: '', runtime: '' };
    const workdirs: Record<string, string> = { build: '/', runtime: '/' };
    let runtimeEnv: Record<string, string> = {};
    let agent: ChildProcess | undefined;

    /** Where an image path of a stage lies in the stage's stand-in directory. */
    const hostPath = (stage: 'build' | 'runtime', p: string) =>
      path.join(roots[stage], path.posix.resolve(workdirs[stage]!, p));

    function copy(stage: 'build' | 'runtime', args: string): void {
      const c = parseCopy(args);
      for (const src of c.sources) {
        const from = c.from ? hostPath(c.from as 'build', src) : path.join(ROOT, src);
        let dest = hostPath(stage, c.dest);
        if (fs.statSync(from).isDirectory()) {
          fs.cpSync(from, dest, {
            recursive: true,
            verbatimSymlinks: true,
            filter: (f) => c.from !== undefined || !ignored(path.relative(ROOT, f)),
          });
        } else {
          if (c.dest.endsWith('/')) dest = path.join(dest, path.basename(src));
          fs.mkdirSync(path.dirname(dest), { recursive: true });
          fs.cpSync(from, dest);
        }
      }
    }

    /** Runs a stage's steps; returns its ENV. */
    function runStage(name: 'build' | 'runtime', stage: Stage, PATH: string): Record<string, string> {
      const env: Record<string, string> = {};
      for (const ins of stage.instructions) {
        if (ins.op === 'WORKDIR') {
          workdirs[name] = path.posix.resolve(workdirs[name]!, ins.args);
          fs.mkdirSync(hostPath(name, '.'), { recursive: true });
        } else if (ins.op === 'ENV') {
          for (const [k, v] of Object.entries(parsePairs(ins.args))) {
            env[k] = v.startsWith('/') ? path.join(roots[name], v) : v;
          }
        } else if (ins.op === 'COPY') {
          copy(name, ins.args);
        } else if (ins.op === 'RUN') {
          if (/\bapt-get\b|\buseradd\b|\bgroupadd\b/.test(ins.args)) {
            applySetcap(name, ins.args);
            continue;
          }
          const started = Date.now();
          const r = spawnSync('/bin/sh', ['-c', ins.args], {
            cwd: hostPath(name, '.'),
            // A fresh image has an empty npm cache; here npm may take what this machine's holds.
            env: { ...hostEnv(), npm_config_prefer_offline: 'true', ...env, PATH },
            encoding: 'utf8',
            maxBuffer: 64 << 20,
          });
          if (r.status !== 0) {
            throw new Error(`line ${ins.line}: RUN ${ins.args} failed (${r.status}):\n${r.stdout}\n${r.stderr}`);
          }
          console.log(`RUN ${ins.args}: ${((Date.now() - started) / 1000).toFixed(1)}s`);
        }
      }
      return env;
    }

    /**
     * The capabilities the image sets on node, on the stand-in's node, as far as this
     * machine's bounding set holds them (node could not start otherwise).
     */
    function applySetcap(stage: 'build' | 'runtime', command: string): void {
      const m = /\bsetcap\s+(\S+)\+ep\s+(\S+)/.exec(command);
      if (!m || !isRoot || !haveSetcap) return;
      const bounding = BigInt(`0x${/^CapBnd:\s*(\S+)$/m.exec(fs.readFileSync('/proc/self/status', 'utf8'))![1]}`);
      const names = m[1]!.split(',');
      const kept = names.filter((n) => {
        const bit = CAP[n.replace(/^cap_/, '').toUpperCase() as keyof typeof CAP];
        if (bit === undefined) throw new Error(`${n}: not in the capability table of privileges.ts`);
        return ((bounding >> BigInt(bit)) & 1n) === 1n;
      });
      if (kept.length < names.length) {
        console.log(`this machine's bounding set lacks ${names.filter((n) => !kept.includes(n)).join(', ')}`);
      }
      execFileSync('setcap', [`${kept.join(',')}+ep`, hostPath(stage, m[2]!)]);
    }

    /** This machine's environment without what npm or the test runner put there. */
    function hostEnv(): Record<string, string> {
      const env: Record<string, string> = {};
      for (const [k, v] of Object.entries(process.env)) {
        if (v !== undefined && !/^(npm_|NODE_|VITEST)/.test(k)) env[k] = v;
      }
      return env;
    }

    /** The image's PATH, with the stand-in's node first. */
    const imagePath = () =>
      `${path.join(roots.runtime, 'usr/local/bin')}:/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin`;

    /**
     * A command as the image's USER, when this test may switch users and give that user's
     * node its file capabilities.
     */
    const switchUser = isRoot && haveSetcap;
    const asImageUser = (cmd: string[]) =>
      switchUser ? ['setpriv', `--reuid=${uid}`, `--regid=${gid}`, '--clear-groups', ...cmd] : cmd;

    function inImage(args: string[]) {
      const [cmd, ...rest] = asImageUser([hostPath('runtime', entrypoint[0]!), ...args]);
      return spawnSync(cmd!, rest, {
        cwd: hostPath('runtime', '.'),
        env: { PATH: imagePath(), ...runtimeEnv },
        encoding: 'utf8',
      });
    }

    beforeAll(() => {
      if (isRoot && !haveSetcap)
        console.log('setcap is not installed (libcap2-bin): running as root, not the image user');
      const started = Date.now();
      work = fs.mkdtempSync(path.join(os.tmpdir(), 'dropreason-docker-'));
      // Readable by the image's user.
      fs.chmodSync(work, 0o755);
      roots.build = path.join(work, 'build');
      roots.runtime = path.join(work, 'runtime');
      // The image's Node is in /usr/local: the build stage's is this one.
      fs.mkdirSync(path.join(roots.build, 'usr'), { recursive: true });
      fs.symlinkSync(NODE_PREFIX, path.join(roots.build, 'usr/local'));
      runStage('build', build, `${NODE_PREFIX}/bin:${process.env['PATH']}`);
      console.log(`build stage outside Docker: ${((Date.now() - started) / 1000).toFixed(1)}s`);

      fs.mkdirSync(path.join(roots.runtime, 'usr/local/bin'), { recursive: true });
      fs.copyFileSync(process.execPath, path.join(roots.runtime, 'usr/local/bin/node'));
      runtimeEnv = runStage('runtime', runtime, imagePath());
      console.log(`both stages outside Docker: ${((Date.now() - started) / 1000).toFixed(1)}s`);
    }, 400_000);

    afterAll(() => {
      agent?.kill('SIGKILL');
      if (work) fs.rmSync(work, { recursive: true, force: true });
    });

    it('links the addon only to libraries the runtime stage installs or Node itself needs', () => {
      const addon = hostPath('runtime', 'build/Release/bpf_addon.node');
      const needed = linkedPackages(addon);
      const fromNode = linkedPackages(process.execPath);
      const installed = aptPackages(runtime).filter((p) => !purged(runtime).includes(p));
      expect([...needed].filter((p) => !installed.includes(p) && !fromNode.has(p))).toEqual([]);
      // And nothing installed that the addon does not load.
      expect(installed.filter((p) => !needed.has(p))).toEqual([]);
    });

    it('ships no dev dependencies', () => {
      const lock = JSON.parse(fs.readFileSync(path.join(ROOT, 'package-lock.json'), 'utf8')) as {
        packages: Record<string, { dev?: boolean }>;
      };
      const dev = Object.entries(lock.packages)
        .filter(([p, v]) => p.startsWith('node_modules/') && v.dev)
        .map(([p]) => p);
      expect(dev).toContain('node_modules/typescript');
      expect(dev.filter((p) => fs.existsSync(hostPath('runtime', p)))).toEqual([]);
    });

    it('prints its version', () => {
      const r = inImage(['--version']);
      expect(r.stderr).toBe('');
      expect(r.stdout).toBe(`dropreason ${pkg.version}\n`);
      expect(r.status).toBe(0);
    });

    it('validates the embedded config', () => {
      const r = inImage(['validate', '--config', 'otel-config.yaml']);
      expect(r.stderr).toBe('');
      expect(r.stdout).toMatch(/^otel-config\.yaml: valid; pipelines: metrics/);
      expect(r.status).toBe(0);
    });

    it.skipIf(!isRoot)(
      'runs as the image user in a network namespace of its own and passes its HEALTHCHECK',
      async () => {
        // Ports of its own, as in a container; lo is down in a new namespace.
        const cmd = ['unshare', '-n', '--', 'sh', '-c', 'ip link set lo up && exec "$@"', 'sh'];
        cmd.push(...asImageUser([hostPath('runtime', entrypoint[0]!)]));
        const env = { PATH: imagePath(), ...runtimeEnv };
        const child = spawn(cmd[0]!, cmd.slice(1), { cwd: hostPath('runtime', '.'), env });
        agent = child;
        let output = '';
        child.stdout.on('data', (d: Buffer) => (output += d.toString()));
        child.stderr.on('data', (d: Buffer) => (output += d.toString()));
        const exited = new Promise<number | null>((resolve) => child.on('exit', (code) => resolve(code)));

        const check = ['nsenter', `--net=/proc/${child.pid}/ns/net`, '--', ...asImageUser(healthcheck.cmd)];
        // Healthy, and the programs attached as that user.
        let healthy = false;
        for (
          let i = 0;
          i < 60 && !(healthy && output.includes('everything is ready')) && child.exitCode === null;
          i++
        ) {
          await new Promise((r) => setTimeout(r, 500));
          healthy = spawnSync(check[0]!, check.slice(1), { env, stdio: 'ignore', timeout: 5000 }).status === 0;
        }
        expect(healthy, output).toBe(true);
        expect(output).toContain('everything is ready');

        child.kill('SIGTERM');
        expect(await exited, output).toBe(0);
        expect(output).toContain('stopped: all programs detached');
        agent = undefined;
      },
    );
  });
});
