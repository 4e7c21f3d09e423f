import { describe, expect, it } from 'vitest';

import type { BpfObjectHandle } from '../../../../src/native/binding.js';
import { SymbolProgram, functionOf, kernelSymbolSource } from '../../../../src/receiver/dropreason/symbol_program.js';
import { fakeBinding } from '../../fake_binding.js';
import { recordingLogger } from '../../support.js';

describe('functionOf', () => {
  it('takes the function from what %pB prints, without offset, size or module', () => {
    expect(functionOf('nf_hook_slow+0x3e/0xb0')).toBe('nf_hook_slow');
    expect(functionOf('nft_do_chain+0x1a/0x500 [nf_tables]')).toBe('nft_do_chain');
    expect(functionOf('ip_rcv_finish_core.isra.0+0x0/0x3c0')).toBe('ip_rcv_finish_core.isra.0');
  });

  it('gives nothing for an address no symbol holds, which %pB prints bare', () => {
    expect(functionOf('0xfff')).toBeUndefined();
    expect(functionOf('')).toBeUndefined();
  });
});

describe('kernelSymbolSource', () => {
  it('falls back to /proc/kallsyms, and says why, on a kernel without bpf_snprintf', async () => {
    const { logger, lines } = recordingLogger();
    const source = await kernelSymbolSource(() => fakeBinding(), logger);
    expect(source.via).toBe('/proc/kallsyms');
    expect(lines.join('\n')).toMatch(
      /named from \/proc\/kallsyms: .*bpf_snprintf needs Linux 5\.13.*unknown func bpf_snprintf/,
    );
  });
});

describe('SymbolProgram', () => {
  /** An object whose one map slot holds what the last run wrote, as the kernel's does. */
  function slotObject(names: Map<bigint, string>): BpfObjectHandle {
    let slot = Buffer.alloc(256);
    return {
      testRun: (_program: string, ctx: Buffer) => {
        const text = `${names.get(ctx.readBigUInt64LE()) ?? '0x1'}\0`;
        slot = Buffer.alloc(256);
        slot.write(text, 'latin1');
        return text.length;
      },
      readMap: async () => {
        // The addon reads the map on a worker thread, a while after the call.
        await new Promise((r) => setTimeout(r, 1));
        return {
          count: 1,
          keys: Buffer.alloc(4),
          values: slot,
          keySize: 4,
          valueSize: 256,
          valueStride: 256,
          perCpu: false,
        };
      },
      close: () => {},
    } as unknown as BpfObjectHandle;
  }

  it('names the addresses of calls made at once each by its own run', async () => {
    const names = new Map([
      [0x10n, 'nf_hook_slow+0x3e/0xb0'],
      [0x20n, 'tcp_v4_rcv+0x10/0x900'],
      [0x30n, 'nft_do_chain+0x1a/0x500 [nf_tables]'],
    ]);
    const program = new SymbolProgram(slotObject(names));
    const [a, b] = await Promise.all([program.names([0x10n, 0x30n]), program.names([0x20n, 0x40n])]);
    expect(a).toEqual(
      new Map([
        [0x10n, 'nf_hook_slow'],
        [0x30n, 'nft_do_chain'],
      ]),
    );
    expect(b).toEqual(new Map([[0x20n, 'tcp_v4_rcv']]));
  });
});
