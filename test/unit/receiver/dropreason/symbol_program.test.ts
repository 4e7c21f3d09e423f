import { describe, expect, it } from 'vitest';

import { functionOf, kernelSymbolSource } from '../../../../src/receiver/dropreason/symbol_program.js';
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
