/**
 * Function hooks on a fake of the native addon: the strategy chosen per hook (fexit, else
 * kprobe, else unavailable, each reported) and the wait for a module that is not loaded
 * yet, with vitest's fake timers and a real directory standing for /sys/module.
 */
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { afterEach, beforeEach, describe, expect, it, vi } from 'vitest';

import {
  type AttachOptions,
  FUNCTION_HOOKS,
  FunctionHooks,
  type HookStatus,
} from '../../../../src/receiver/dropreason/function_hooks.js';
import { bpfError, fakeBinding, type FakeKernel } from '../../fake_binding.js';
import { recordingLogger } from '../../support.js';

const CHECK_MS = 10_000;
/** What this machine's kernel does: fexit refused, and no kprobes. */
const NO_FEXIT_NO_KPROBES: FakeKernel = {
  load: (programs) => (programs.some((p) => p.endsWith('fexit')) ? bpfError('load', 'EPERM', 1) : undefined),
  attach: (program) => (program.includes('kprobe') ? bpfError('attach', 'ENOENT', 2, program) : undefined),
};

let moduleDir: string;
beforeEach(() => {
  vi.useFakeTimers();
  moduleDir = fs.mkdtempSync(path.join(os.tmpdir(), 'dropreason-modules-'));
});
afterEach(() => {
  vi.useRealTimers();
  fs.rmSync(moduleDir, { recursive: true, force: true });
});

function loadModule(name: string) {
  fs.mkdirSync(path.join(moduleDir, name));
}

async function attach(kernel: FakeKernel, opts: Partial<AttachOptions> = {}) {
  const binding = fakeBinding(kernel);
  const main = new binding.BpfObject('/fake/dropreason.bpf.o');
  const { logger, lines } = recordingLogger();
  const hooks = await FunctionHooks.attach(
    binding,
    main,
    { objectPath: '/fake/dropreason.bpf.o', netnsInode: 7, choice: 'auto', kernelHasReasons: true, moduleDir, ...opts },
    logger,
  );
  return { binding, hooks, lines, opened: () => binding.objects.slice(1) };
}

function strategies(status: HookStatus[]): Record<string, string> {
  return Object.fromEntries(status.map((s) => [s.fn, s.strategy]));
}

describe('FunctionHooks strategies', () => {
  it('uses fexit where the kernel allows it, one object per hook on the shared maps', async () => {
    loadModule('nf_nat');
    loadModule('nf_conntrack');
    const { hooks, opened } = await attach({});
    expect(strategies(hooks.status)).toEqual({
      nf_nat_inet_fn: 'fexit',
      __nf_conntrack_confirm: 'fexit',
      tcp_v4_connect: 'fexit',
      tcp_v6_connect: 'fexit',
      inet_csk_accept: 'fexit',
      nf_hook_slow: 'not needed',
    });
    expect(opened().map((o) => o.loading)).toEqual(FUNCTION_HOOKS.slice(0, 5).map((h) => h.programs.fexit));
    for (const o of opened()) {
      expect(o.reused).toEqual([
        'reason_array',
        'metrics_map',
        'overflow_map',
        'refine_map',
        'entry_args',
        'drop_samples',
        'sample_budget',
        'sample_epoch',
        'sample_refused',
      ]);
      expect(o.constants.get('filter_netns_ino')!.readUInt32LE()).toBe(7);
    }
    hooks.close();
    expect(opened().every((o) => o.closed && o.attached.length === 0)).toBe(true);
  });

  it('falls back to kprobes per hook, and hooks nf_hook_slow on a kernel without drop reasons', async () => {
    loadModule('nf_nat');
    loadModule('nf_conntrack');
    const refused = new Set(['dr_connect4_fexit', 'dr_nf_hook_fexit']);
    const { hooks, lines } = await attach(
      { load: (programs) => (programs.some((p) => refused.has(p)) ? bpfError('load', 'EPERM', 1) : undefined) },
      { kernelHasReasons: false },
    );
    expect(strategies(hooks.status)).toMatchObject({
      tcp_v4_connect: 'kprobe',
      tcp_v6_connect: 'fexit',
      nf_hook_slow: 'kprobe',
    });
    expect(lines.filter((l) => l.includes('function hook attached') && l.includes('strategy=kprobe'))).toHaveLength(2);
    hooks.close();
  });

  it('reports every hook unavailable with each strategy tried when neither works', async () => {
    loadModule('nf_nat');
    loadModule('nf_conntrack');
    const { hooks, lines } = await attach(NO_FEXIT_NO_KPROBES);
    const accept = hooks.status.find((s) => s.fn === 'inet_csk_accept');
    expect(accept).toEqual({
      fn: 'inet_csk_accept',
      reason: 'TCP_ACCEPT_BASIC',
      strategy: 'unavailable',
      detail: 'fexit: load: eperm (EPERM); kprobe: attach: dr_accept_kprobe: enoent (ENOENT)',
    });
    expect(hooks.status.filter((s) => s.strategy === 'unavailable')).toHaveLength(5);
    expect(lines.filter((l) => l.includes('function hook unavailable'))).toHaveLength(5);
    expect(vi.getTimerCount()).toBe(0);
    hooks.close();
  });

  it('tries only the strategy the config names, or none', async () => {
    const kprobe = await attach({}, { choice: 'kprobe' });
    expect(kprobe.opened().map((o) => o.loading)).toEqual(FUNCTION_HOOKS.slice(0, 5).map((h) => h.programs.kprobe));
    kprobe.hooks.close();

    const none = await attach({}, { choice: 'none' });
    expect(none.opened()).toEqual([]);
    expect(none.hooks.status.find((s) => s.fn === 'tcp_v4_connect')).toMatchObject({
      strategy: 'unavailable',
      detail: 'function_hooks is none',
    });
    none.hooks.close();
  });
});

describe('FunctionHooks module wait', () => {
  /** The kernel has nf_nat_inet_fn only once nf_nat is loaded. */
  const natNeedsModule: FakeKernel = {
    load: (programs) =>
      programs.some((p) => p.startsWith('dr_nat_')) && !fs.existsSync(path.join(moduleDir, 'nf_nat'))
        ? bpfError('load', 'ESRCH', 3, '', 'libbpf: failed to find kernel BTF type ID of nf_nat_inet_fn')
        : undefined,
  };

  beforeEach(() => {
    loadModule('nf_conntrack');
  });

  it('waits for a missing module, looks every 10 s, and attaches once it is loaded', async () => {
    const { hooks, lines, opened } = await attach(natNeedsModule);
    const nat = hooks.status.find((s) => s.fn === 'nf_nat_inet_fn')!;
    expect(nat.strategy).toBe('unavailable');
    expect(nat.detail).toMatch(/^module nf_nat is not loaded; attaching when it is \(fexit: load: esrch \(ESRCH\); /);
    expect(
      lines.filter((l) => l.includes('function hook waits for its module') && l.includes('module=nf_nat')),
    ).toHaveLength(1);
    expect(vi.getTimerCount()).toBe(1);

    const tried = opened().length;
    await vi.advanceTimersByTimeAsync(3 * CHECK_MS);
    expect(opened().length).toBe(tried); // not loaded: nothing tried

    loadModule('nf_nat');
    await vi.advanceTimersByTimeAsync(CHECK_MS - 1);
    expect(nat.strategy).toBe('unavailable');
    await vi.advanceTimersByTimeAsync(1);
    expect(nat).toEqual({ fn: 'nf_nat_inet_fn', reason: 'IPTABLE_NAT_DROP', strategy: 'fexit' });
    expect(opened().at(-1)!.attached).toEqual(['dr_nat_fentry', 'dr_nat_fexit']);
    expect(vi.getTimerCount()).toBe(0);
    hooks.close();
  });

  it('gives up after three attempts once the module is loaded, and says so', async () => {
    const { hooks, lines, opened } = await attach({
      load: (programs) => (programs.some((p) => p.startsWith('dr_nat_')) ? bpfError('load', 'EINVAL', 22) : undefined),
    });
    loadModule('nf_nat');
    const before = opened().length;
    await vi.advanceTimersByTimeAsync(10 * CHECK_MS);
    expect(opened().length - before).toBe(3 * 2); // three attempts, fexit and kprobe each
    const nat = hooks.status.find((s) => s.fn === 'nf_nat_inet_fn')!;
    expect(nat).toMatchObject({
      strategy: 'unavailable',
      detail: 'fexit: load: einval (EINVAL); kprobe: load: einval (EINVAL)',
    });
    expect(lines.filter((l) => / warn /.test(l) && l.includes('function hook unavailable'))).toHaveLength(1);
    expect(vi.getTimerCount()).toBe(0);
    hooks.close();
  });

  it('stops waiting when closed', async () => {
    const { hooks, opened } = await attach(natNeedsModule);
    expect(vi.getTimerCount()).toBe(1);
    hooks.close();
    expect(vi.getTimerCount()).toBe(0);
    loadModule('nf_nat');
    const before = opened().length;
    await vi.advanceTimersByTimeAsync(3 * CHECK_MS);
    expect(opened().length).toBe(before);
  });

  it('takes the check interval from its options', async () => {
    const { hooks } = await attach(natNeedsModule, { moduleCheckMs: 500 });
    loadModule('nf_nat');
    await vi.advanceTimersByTimeAsync(500);
    expect(hooks.status.find((s) => s.fn === 'nf_nat_inet_fn')!.strategy).toBe('fexit');
    hooks.close();
  });
});
