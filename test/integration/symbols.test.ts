/**
 * Naming drop locations with the kernel's own symbol table (bpf/symbols.bpf.c) on the real
 * kernel: every address must get the name the test reads for it from /proc/kallsyms
 * itself. On a kernel without bpf_snprintf (before 5.13) the program cannot load, and
 * locations are named from /proc/kallsyms instead.
 */
import os from 'node:os';
import { describe, expect, it } from 'vitest';

import { loadBinding } from '../../src/native/binding.js';
import { createLogger } from '../../src/service/logger.js';
import { SymbolProgram, kernelSymbolSource } from '../../src/receiver/dropreason/symbol_program.js';
import { isRoot } from './harness/agent.js';
import { readKallsyms } from './harness/kallsyms.js';

const [major = 0, minor = 0] = os.release().split('.').map(Number);
const hasSnprintf = major > 5 || (major === 5 && minor >= 13);

if (!isRoot) console.log('skipping kernel symbol tests: they need root to load eBPF and read kernel addresses');

/**
 * Text symbols of /proc/kallsyms that alone hold their address, each with the address one
 * byte in: a return address inside the function, as kfree_skb's location is. Spread evenly
 * over the list, vmlinux and modules alike.
 */
function kallsymsSamples(count: number): Array<{ address: bigint; name: string }> {
  const symbols = readKallsyms().filter((s) => s.address !== 0n);
  const byAddress = new Map<bigint, number>();
  for (const s of symbols) byAddress.set(s.address, (byAddress.get(s.address) ?? 0) + 1);
  const addresses = [...byAddress.keys()].sort((a, b) => (a < b ? -1 : a > b ? 1 : 0));
  const next = new Map(addresses.map((a, i) => [a, addresses[i + 1]]));
  const unique = symbols.filter(
    (s) =>
      'tTwW'.includes(s.type) &&
      (s.module === undefined || (!s.module.startsWith('[__builtin') && s.module !== '[bpf]')) &&
      byAddress.get(s.address) === 1 &&
      (next.get(s.address) ?? 0n) > s.address + 1n,
  );
  const step = Math.max(1, Math.floor(unique.length / count));
  return unique.filter((_, i) => i % step === 0).map((s) => ({ address: s.address + 1n, name: s.name }));
}

describe.skipIf(!isRoot)('naming kernel addresses', () => {
  it.skipIf(!hasSnprintf)('names each address as /proc/kallsyms does, and leaves one no symbol holds', async () => {
    const samples = kallsymsSamples(300);
    expect(samples.length).toBeGreaterThan(200);
    const program = await SymbolProgram.open(loadBinding());
    try {
      const found = await program.names([...samples.map((s) => s.address), 0x1000n]);
      expect(Object.fromEntries(samples.map((s) => [s.address.toString(16), found.get(s.address)]))).toEqual(
        Object.fromEntries(samples.map((s) => [s.address.toString(16), s.name])),
      );
      expect(found.has(0x1000n)).toBe(false);
    } finally {
      program.close();
    }
  });

  it('names locations with the kernel symbol table where bpf_snprintf exists, /proc/kallsyms before', async () => {
    const lines: string[] = [];
    const source = await kernelSymbolSource(
      loadBinding,
      createLogger('debug', 'test', (l) => lines.push(l)),
    );
    try {
      expect(source.via).toBe(hasSnprintf ? 'the kernel symbol table' : '/proc/kallsyms');
      const [sample] = kallsymsSamples(1);
      expect((await source.names([sample!.address])).get(sample!.address)).toBe(sample!.name);
    } finally {
      source.close?.();
    }
  });
});
