/**
 * Runs the real CLI (bin/dropreason) as a child process on a config written for the
 * test, and reads its Prometheus endpoint.
 */
import { type ChildProcess, execFileSync, spawn, spawnSync } from 'node:child_process';
import fs from 'node:fs';
import net from 'node:net';
import os from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';

import { onTestFinished } from 'vitest';

export const ROOT = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '../../..');
export const CLI = path.join(ROOT, 'bin/dropreason');

/**
 * Ports for the test's own servers: taken in turn from a block below the kernel's
 * ephemeral range (32768 and up), so no outgoing connection and no earlier `listen(0)` can
 * hold one, each handed out at most once per process (two servers of one test never share
 * a port), and checked free before it is handed out. Each vitest worker has its own block.
 */
const PORT_BLOCK = 2000;
const PORT_BASE = 20_000 + ((Number(process.env['VITEST_POOL_ID'] ?? 1) - 1) % 6) * PORT_BLOCK;
let nextPort = 0;

export async function freePort(): Promise<number> {
  while (nextPort < PORT_BLOCK) {
    const port = PORT_BASE + nextPort++;
    if (await canListen(port)) return port;
  }
  throw new Error(`no free port left in ${PORT_BASE}-${PORT_BASE + PORT_BLOCK - 1}`);
}

function canListen(port: number): Promise<boolean> {
  return new Promise((resolve) => {
    const s = net.createServer();
    s.once('error', () => resolve(false));
    s.listen(port, '127.0.0.1', () => s.close(() => resolve(true)));
  });
}

/** Runs a command as an unprivileged user (nobody), with no capabilities. */
export const NOBODY = ['setpriv', '--reuid=65534', '--regid=65534', '--clear-groups'];

let publicRoot: string | undefined;

/**
 * The CLI as an unprivileged user can run it. A clone in `/root` or in a `mktemp -d`
 * directory (mode 0700) cannot be entered by another user: then the runnable parts of the
 * checkout (the CLI, the built code and bpf object, the addon, the production packages and
 * the Node that setup provided) are hard-linked, or copied across file systems, into a
 * directory anyone can read, once per test file (`removePublicCopy` in its `afterAll`).
 */
export function publicCli(): string {
  publicRoot ??= nobodyCanRun(ROOT) ? ROOT : readableCopy();
  return path.join(publicRoot, 'bin/dropreason');
}

/** Removes the copy `publicCli` made, if it made one. */
export function removePublicCopy(): void {
  if (publicRoot && publicRoot !== ROOT) fs.rmSync(publicRoot, { recursive: true, force: true });
  publicRoot = undefined;
}

function nobodyCanRun(root: string): boolean {
  const node = path.join(root, '.toolchain/node/bin/node');
  const r = spawnSync(
    NOBODY[0]!,
    [
      ...NOBODY.slice(1),
      'sh',
      '-c',
      'test -x "$1" && test -r "$2" && { test ! -e "$3" || test -x "$3"; }',
      'sh',
    ].concat([path.join(root, 'bin/dropreason'), path.join(root, 'dist/cli.js'), node]),
  );
  return r.status === 0;
}

function readableCopy(): string {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'dropreason-public-'));
  fs.chmodSync(dir, 0o755);
  const lock = JSON.parse(fs.readFileSync(path.join(ROOT, 'package-lock.json'), 'utf8')) as {
    packages: Record<string, { dev?: boolean }>;
  };
  const packages = Object.entries(lock.packages)
    .filter(([where, p]) => where.startsWith('node_modules/') && !p.dev)
    .map(([where]) => where);
  const parts = [
    'bin',
    'dist',
    'package.json',
    'otel-config.yaml',
    'build/Release',
    '.toolchain/node/bin',
    'src',
    ...packages,
  ];
  for (const part of parts) {
    const from = path.join(ROOT, part);
    const to = path.join(dir, part);
    if (!fs.existsSync(from) || fs.existsSync(to)) continue;
    fs.mkdirSync(path.dirname(to), { recursive: true, mode: 0o755 });
    try {
      execFileSync('cp', ['-al', from, to], { stdio: 'pipe' });
    } catch {
      fs.rmSync(to, { recursive: true, force: true });
      execFileSync('cp', ['-a', from, to], { stdio: 'pipe' });
    }
  }
  return dir;
}

export function writeConfig(yaml: string): string {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'dropreason-test-'));
  fs.chmodSync(dir, 0o755); // readable by the unprivileged user of the capability test
  const file = path.join(dir, 'config.yaml');
  fs.writeFileSync(file, yaml, { mode: 0o644 });
  return file;
}

export interface ReceiverOptions {
  interval?: string;
  netns?: string | undefined;
  hook?: string | undefined;
  /** function_hooks: auto, fexit, kprobe or none. */
  functionHooks?: string | undefined;
  /** A second Prometheus exporter with Retina's naming on this port. */
  retinaPort?: number;
}

/** The k8sattributes processor's settings: the pods of node-a, from the API server of this kubeconfig. */
export function podAttributes(kubeconfig: string): string {
  return `    auth_type: kubeConfig
    kube_config_path: ${kubeconfig}
    filter:
      node: node-a
    extract:
      metadata: [k8s.pod.name, k8s.pod.uid, k8s.namespace.name, k8s.node.name, k8s.deployment.name, k8s.statefulset.name]
    wait_for_metadata: true`;
}

export function basicConfig(port: number, opts: ReceiverOptions = {}): string {
  const receiver = [`collection_interval: ${opts.interval ?? '500ms'}`];
  if (opts.netns) receiver.push(`netns: ${opts.netns}`);
  if (opts.hook) receiver.push(`hook: ${opts.hook}`);
  if (opts.functionHooks) receiver.push(`function_hooks: ${opts.functionHooks}`);
  const exporters = ['prometheus'];
  let retina = '';
  if (opts.retinaPort) {
    exporters.push('prometheus/retina');
    retina = `  prometheus/retina:\n    endpoint: 127.0.0.1:${opts.retinaPort}\n    naming: retina\n`;
  }
  return `receivers:
  dropreason:
${receiver.map((l) => `    ${l}\n`).join('')}exporters:
  prometheus:
    endpoint: 127.0.0.1:${port}
${retina}service:
  pipelines:
    metrics:
      receivers: [dropreason]
      exporters: [${exporters.join(', ')}]
`;
}

/** The command line that runs the CLI: wrapped, or as nobody from a copy nobody can read. */
export function cliCommand(opts: { wrap?: string[]; asNobody?: boolean } = {}): string[] {
  return opts.asNobody ? [...NOBODY, publicCli()] : [...(opts.wrap ?? []), CLI];
}

/** Runs the CLI to completion and returns its exit code and output. */
export async function runCli(
  args: string[],
  opts: { timeoutMs?: number; wrap?: string[]; asNobody?: boolean } = {},
): Promise<{ code: number | null; stdout: string; stderr: string }> {
  const [cmd, ...rest] = [...cliCommand(opts), ...args];
  const child = spawn(cmd!, rest, { stdio: ['ignore', 'pipe', 'pipe'] });
  let stdout = '';
  let stderr = '';
  child.stdout.on('data', (d) => (stdout += d));
  child.stderr.on('data', (d) => (stderr += d));
  const timer = setTimeout(() => child.kill('SIGKILL'), opts.timeoutMs ?? 30_000);
  // 'close', not 'exit': the output may still be in the pipes when the process has exited.
  const code = await new Promise<number | null>((resolve) => child.on('close', (c) => resolve(c)));
  clearTimeout(timer);
  return { code, stdout, stderr };
}

export type Samples = Map<string, number>;

/** Parses Prometheus text into `name{labels}` → value, labels in the order served. */
export function parseMetrics(text: string): Samples {
  const out: Samples = new Map();
  for (const line of text.split('\n')) {
    if (!line || line.startsWith('#')) continue;
    const i = line.lastIndexOf(' ');
    out.set(line.slice(0, i), Number(line.slice(i + 1)));
  }
  return out;
}

/** The labels of a `name{k="v",...}` sample key. */
export function labelsOf(key: string): Record<string, string> {
  const labels: Record<string, string> = {};
  for (const m of key.matchAll(/([A-Za-z_][A-Za-z0-9_]*)="((?:[^"\\]|\\.)*)"/g)) labels[m[1]!] = m[2]!;
  return labels;
}

/** Sums the samples of `name` whose labels include all of `labels`. */
export function sumSeries(samples: Samples, name: string, labels: Record<string, string>): number {
  let sum = 0;
  for (const [key, value] of samples) {
    if (key !== name && !key.startsWith(`${name}{`)) continue;
    const have = labelsOf(key);
    if (Object.entries(labels).every(([k, v]) => have[k] === v)) sum += value;
  }
  return sum;
}

export class Agent {
  private child: ChildProcess | undefined;
  stdout = '';
  stderr = '';
  private exited: Promise<number | null> | undefined;

  constructor(
    readonly configFile: string,
    readonly port: number,
  ) {}

  static async start(yaml: string, port: number): Promise<Agent> {
    const agent = new Agent(writeConfig(yaml), port);
    await agent.launch();
    return agent;
  }

  /** start, inside a test: the agent is stopped when the test finishes, passed or failed. */
  static async startForTest(yaml: string, port: number): Promise<Agent> {
    const agent = new Agent(writeConfig(yaml), port);
    onTestFinished(async () => {
      await agent.stop();
    });
    await agent.launch();
    return agent;
  }

  private async launch(): Promise<void> {
    const child = spawn(CLI, ['--config', this.configFile], { stdio: ['ignore', 'pipe', 'pipe'] });
    this.child = child;
    child.stdout!.on('data', (d) => (this.stdout += d));
    child.stderr!.on('data', (d) => (this.stderr += d));
    this.exited = new Promise((resolve) => child.on('exit', (code) => resolve(code)));
    // Generous: loading the Kubernetes client under the kernel matrix's emulation is slow.
    const deadline = Date.now() + 90_000;
    while (!this.stderr.includes('everything is ready')) {
      if (child.exitCode !== null) throw new Error(`agent exited with ${child.exitCode}:\n${this.stderr}`);
      if (Date.now() > deadline) throw new Error(`agent did not become ready:\n${this.stderr}`);
      await sleep(50);
    }
  }

  get pid(): number {
    return this.child!.pid!;
  }

  /** The endpoint's text, from this agent's port or another of its exporters. */
  async scrapeText(port = this.port): Promise<string> {
    for (let attempt = 1; ; attempt++) {
      try {
        // Bounded: a scrape the agent never answers fails the test with a reason, not by its timeout.
        const res = await fetch(`http://127.0.0.1:${port}/metrics`, { signal: AbortSignal.timeout(30_000) });
        if (!res.ok) throw new Error(`scrape failed: ${res.status}`);
        return await res.text();
      } catch (e) {
        // A kept-alive connection the server closed as it was reused ("other side closed",
        // seen in slow emulated guests): a GET is sent again, as HTTP clients do.
        if (attempt >= 3 || (e as { cause?: { code?: string } }).cause?.code !== 'UND_ERR_SOCKET') throw e;
      }
    }
  }

  async scrape(port = this.port): Promise<Samples> {
    return parseMetrics(await this.scrapeText(port));
  }

  /**
   * The sum of the series of `name` that carry these labels, whatever other labels they
   * have (the drop location splits a reason's series by function); 0 when there is none.
   */
  async value(name: string, labels: Record<string, string>, port = this.port): Promise<number> {
    return sumSeries(await this.scrape(port), name, labels);
  }

  /**
   * Waits until a series reaches `atLeast` (or times out), then waits two more
   * collections and returns the settled value, so an overcount is seen, not hidden.
   */
  async settle(name: string, labels: Record<string, string>, atLeast: number, intervalMs = 500): Promise<number> {
    const deadline = Date.now() + 60_000;
    while ((await this.value(name, labels)) < atLeast && Date.now() < deadline) await sleep(100);
    await sleep(intervalMs * 2 + 200);
    return this.value(name, labels);
  }

  /** SIGTERM (or the signal given) and the exit code. */
  async stop(signal: NodeJS.Signals = 'SIGTERM'): Promise<number | null> {
    if (!this.child || this.child.exitCode !== null) return this.child?.exitCode ?? null;
    this.child.kill(signal);
    const timer = setTimeout(() => this.child?.kill('SIGKILL'), 60_000);
    const code = await this.exited!;
    clearTimeout(timer);
    return code;
  }
}

export function sleep(ms: number): Promise<void> {
  return new Promise((resolve) => setTimeout(resolve, ms));
}

export const isRoot = process.getuid?.() === 0;

/** Programs of ours (named dr_*) the kernel has loaded right now: id → name. */
export function loadedPrograms(): Map<number, string> {
  const progs = JSON.parse(execFileSync('bpftool', ['prog', 'show', '-j'], { encoding: 'utf8' })) as Array<{
    id: number;
    name?: string;
  }>;
  return new Map(progs.filter((p) => p.name?.startsWith('dr_')).map((p) => [p.id, p.name!]));
}

/** The program ids the process holds, through program or link file descriptors. */
export function programsHeldBy(pid: number | string): Set<number> {
  const ids = new Set<number>();
  const dir = `/proc/${pid}/fdinfo`;
  let fds: string[];
  try {
    fds = fs.readdirSync(dir);
  } catch {
    return ids; // the process has gone
  }
  for (const fd of fds) {
    try {
      const m = /^prog_id:\s+(\d+)/m.exec(fs.readFileSync(`${dir}/${fd}`, 'utf8'));
      if (m) ids.add(Number(m[1]));
    } catch {
      // the descriptor closed while it was read
    }
  }
  return ids;
}

/**
 * Our programs loaded since `before` that no running process holds: what a process that
 * has exited left behind. Programs other tests' agents load meanwhile are held by them.
 */
export function programsLeftBehind(before: Map<number, string>): number[] {
  const fresh = [...loadedPrograms().keys()].filter((id) => !before.has(id));
  const held = new Set<number>();
  for (const pid of fs.readdirSync('/proc').filter((d) => /^\d+$/.test(d))) {
    for (const id of programsHeldBy(pid)) held.add(id);
  }
  const still = loadedPrograms(); // one freed while the holders were read is gone, not left
  return fresh.filter((id) => !held.has(id) && still.has(id));
}
