/**
 * Bad input and a hostile machine, through the real CLI: each case fails with one clear
 * line and a non-zero exit, and leaves nothing of ours loaded in the kernel.
 */
import net from 'node:net';
import { afterAll, afterEach, describe, expect, it } from 'vitest';

import {
  basicConfig,
  freePort,
  isRoot,
  loadedPrograms,
  programsLeftBehind,
  removePublicCopy,
  runCli,
  writeConfig,
} from './harness/agent.js';

if (!isRoot)
  console.log('skipping start-up failure tests: they change users, capabilities and mounts, which needs root');

/** The error line the CLI prints last. */
function errorLine(stderr: string): string {
  return (
    stderr
      .trim()
      .split('\n')
      .filter((l) => l.startsWith('dropreason: '))
      .at(-1) ?? ''
  );
}

describe.skipIf(!isRoot)('start-up failures', () => {
  const servers: net.Server[] = [];
  afterAll(removePublicCopy);

  afterEach(() => {
    for (const s of servers.splice(0)) s.close();
  });

  async function config(extra: { btf_path?: string; netns?: string } = {}): Promise<string> {
    let yaml = basicConfig(await freePort());
    if (extra.btf_path)
      yaml = yaml.replace('collection_interval: 500ms', `collection_interval: 500ms\n    btf_path: ${extra.btf_path}`);
    if (extra.netns)
      yaml = yaml.replace('collection_interval: 500ms', `collection_interval: 500ms\n    netns: ${extra.netns}`);
    return writeConfig(yaml);
  }

  it('names the missing capabilities when not root', async () => {
    const before = loadedPrograms();
    const r = await runCli(['--config', await config()], { asNobody: true });
    expect(r.code).toBe(1);
    expect(errorLine(r.stderr)).toMatch(
      /^dropreason: receivers\.dropreason: missing capability CAP_BPF and CAP_PERFMON: /,
    );
    expect(r.stderr).not.toContain('everything is ready');
    expect(programsLeftBehind(before)).toEqual([]);
  });

  it('names the missing capabilities when root has lost them', async () => {
    const r = await runCli(['--config', await config()], {
      wrap: ['setpriv', '--bounding-set=-bpf,-perfmon,-sys_admin', '--inh-caps=-all'],
    });
    expect(r.code).toBe(1);
    expect(errorLine(r.stderr)).toContain('missing capability CAP_BPF and CAP_PERFMON');
  });

  it('says so when the kernel exposes no BTF', async () => {
    // A private mount namespace where /sys/kernel/btf is an empty tmpfs: a kernel without BTF, as the agent sees it.
    const file = await config();
    const r = await runCli(['--config', file], {
      wrap: [
        'unshare',
        '--mount',
        '--propagation',
        'private',
        'sh',
        '-c',
        'mount -t tmpfs none /sys/kernel/btf && exec "$0" "$@"',
      ],
    });
    expect(r.code).toBe(1);
    expect(errorLine(r.stderr)).toContain('this kernel exposes no BTF at /sys/kernel/btf/vmlinux');
    expect(errorLine(r.stderr)).toContain('CONFIG_DEBUG_INFO_BTF=y');
  });

  it('says so when btf_path does not exist', async () => {
    const r = await runCli(['--config', await config({ btf_path: '/nonexistent/vmlinux' })]);
    expect(r.code).toBe(1);
    expect(errorLine(r.stderr)).toBe('dropreason: receivers.dropreason: btf_path /nonexistent/vmlinux does not exist');
  });

  it('says the port is in use and loads nothing', async () => {
    const port = await freePort();
    const busy = net.createServer();
    servers.push(busy);
    await new Promise<void>((resolve) => busy.listen(port, '127.0.0.1', resolve));
    const before = loadedPrograms();
    const r = await runCli(['--config', writeConfig(basicConfig(port))]);
    expect(r.code).toBe(1);
    expect(errorLine(r.stderr)).toBe(
      `dropreason: exporters.prometheus: cannot listen on 127.0.0.1:${port}: address already in use (EADDRINUSE)`,
    );
    expect(programsLeftBehind(before)).toEqual([]);
  });

  it('shuts the started exporter down again when the receiver cannot start', async () => {
    const port = await freePort();
    const r = await runCli(['--config', writeConfig(basicConfig(port, { netns: '/run/netns/does-not-exist' }))]);
    expect(r.code).toBe(1);
    expect(errorLine(r.stderr)).toBe('dropreason: receivers.dropreason: netns /run/netns/does-not-exist: ENOENT');
    expect(r.stderr).not.toContain('everything is ready');
  });

  it('rejects bad YAML with its line, and unknown keys with the accepted ones', async () => {
    const bad = await runCli(['--config', writeConfig('receivers:\n  dropreason: [\n')]);
    expect(bad.code).toBe(2);
    expect(bad.stderr).toMatch(/YAML error at line \d+, column \d+/);

    const unknown = await runCli([
      '--config',
      writeConfig(basicConfig(9999).replace('collection_interval', 'colection_interval')),
    ]);
    expect(unknown.code).toBe(2);
    expect(unknown.stderr).toContain(
      'receivers.dropreason.colection_interval: unknown key; accepted keys are: mode, peer_attributes, pod_series_ttl, collection_interval, exclude_reasons, hook, function_hooks, btf_path, interfaces, netns, location',
    );
  });
});
