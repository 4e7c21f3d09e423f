/** The loader's steps and fallbacks, on a fake of the native addon (no root, no kernel). */
import { describe, expect, it } from 'vitest';

import { DropProgram, type DropProgramOptions } from '../../../../src/receiver/dropreason/drop_program.js';
import { bpfError, fakeBinding, type FakeKernel } from '../../fake_binding.js';
import { recordingLogger } from '../../support.js';

const OBJECT = '/fake/dropreason.bpf.o';
const EPERM = () => bpfError('load', 'EPERM', 1, '', 'libbpf: prog dr_kfree_skb_btf: failed to load\nlibbpf: EPERM\n');
const TRACEFS_ENOENT = () => bpfError('attach', 'ENOENT', 2, 'dr_kfree_skb_tp');

async function load(kernel: FakeKernel, opts: Partial<DropProgramOptions> = {}) {
  const binding = fakeBinding(kernel);
  const { logger, lines } = recordingLogger();
  const options: DropProgramOptions = { hook: 'auto', functionHooks: 'none', ...opts };
  const result = DropProgram.load(binding, OBJECT, options, logger);
  return { binding, lines, result };
}

describe('DropProgram.load', () => {
  it('prefers tp_btf, loading only its counter, with the constants set before load', async () => {
    const { binding, lines, result } = await load({}, { netnsInode: 4026531840, advanced: true });
    const program = await result;
    expect(program.hook).toBe('tp_btf');
    const [main] = binding.objects;
    expect(main!.objectPath).toBe(OBJECT);
    expect(main!.loading).toEqual(['dr_kfree_skb_btf']);
    expect(main!.attached).toEqual(['dr_kfree_skb_btf']);
    expect(main!.constants.get('filter_netns_ino')!.readUInt32LE()).toBe(4026531840);
    expect(main!.constants.get('advanced_enabled')!.readUInt32LE()).toBe(1);
    expect(lines.filter((l) => / warn /.test(l))).toEqual([]);
    program.close();
    expect(main!.closed).toBe(true);
  });

  it('falls back to the classic tracepoint when tp_btf cannot load, and says why', async () => {
    const { binding, lines, result } = await load({
      load: (programs) => (programs.includes('dr_kfree_skb_btf') ? EPERM() : undefined),
    });
    const program = await result;
    expect(program.hook).toBe('tracepoint');
    expect(program.programName).toBe('dr_kfree_skb_tp');
    expect(binding.objects.map((o) => o.closed)).toEqual([true, false]);
    expect(binding.objects[1]!.loading).toEqual(['dr_kfree_skb_tp']);
    const warnings = lines.filter((l) => / warn /.test(l));
    expect(warnings).toHaveLength(1);
    expect(warnings[0]).toContain('cannot use tp_btf for skb:kfree_skb');
    expect(warnings[0]).toContain('(EPERM) (the kernel refused: check capabilities');
    program.close();
  });

  it('names each hook tried, its step, errno and libbpf log, when none works', async () => {
    const { binding, result } = await load({
      load: (programs) => (programs.includes('dr_kfree_skb_btf') ? EPERM() : undefined),
      attach: (program) => (program === 'dr_kfree_skb_tp' ? TRACEFS_ENOENT() : undefined),
    });
    await expect(result).rejects.toThrow(
      'cannot count drops on skb:kfree_skb: ' +
        'tp_btf: load: eperm (EPERM) (the kernel refused: check capabilities, lockdown and ' +
        'kernel.unprivileged_bpf_disabled) [libbpf: libbpf: prog dr_kfree_skb_btf: failed to load | libbpf: EPERM]; ' +
        'tracepoint: attach: dr_kfree_skb_tp: enoent (ENOENT) (is tracefs mounted at /sys/kernel/tracing?)',
    );
    expect(binding.objects.map((o) => o.closed)).toEqual([true, true]);
  });

  it('tries only the hook the config names', async () => {
    const { binding, lines, result } = await load(
      { attach: (program) => (program === 'dr_kfree_skb_tp' ? TRACEFS_ENOENT() : undefined) },
      { hook: 'tracepoint' },
    );
    await expect(result).rejects.toThrow(/^cannot count drops on skb:kfree_skb: tracepoint: attach: /);
    expect(binding.objects).toHaveLength(1);
    expect(lines.filter((l) => / warn /.test(l))).toEqual([]);
  });

  it('checks every map layout before load, naming map and sizes', async () => {
    const { binding, result } = await load({ maps: { adv_map_1: { keySize: 48 }, adv_control: null } });
    await expect(result).rejects.toThrow(
      'tp_btf: adv_map_1: the BPF object has key/value sizes 48/16 bytes, but this build expects 56/16; ' +
        'the BPF object has no adv_control: rebuild the BPF object and the agent together',
    );
    expect(binding.objects.every((o) => !o.loaded && o.closed)).toBe(true);
  });

  it('attaches the function hooks to the counting maps of the object it loaded', async () => {
    const { binding, result } = await load({}, { functionHooks: 'fexit', kernelHasReasons: true });
    const program = await result;
    const [main, ...hooks] = binding.objects;
    expect(main!.loading).toEqual(['dr_kfree_skb_btf']);
    expect(hooks).toHaveLength(5);
    for (const o of hooks) expect(o.reused).toEqual(expect.arrayContaining(['metrics_map', 'reason_array']));
    expect(program.hooks!.status.map((s) => s.strategy)).toEqual([
      'fexit',
      'fexit',
      'fexit',
      'fexit',
      'fexit',
      'not needed',
    ]);
    program.close();
    expect(binding.objects.every((o) => o.closed && o.attached.length === 0)).toBe(true);
  });
});
