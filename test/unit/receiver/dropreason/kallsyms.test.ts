import { describe, expect, it } from 'vitest';

import {
  KernelSymbols,
  addressText,
  kallsymsSource,
  nearestSymbols,
} from '../../../../src/receiver/dropreason/kallsyms.js';

/** Lines as /proc/kallsyms has them: vmlinux first, in address order, then modules. */
const KALLSYMS = [
  'ffffffff81000000 T _stext',
  'ffffffff820a7a70 T __udp4_lib_rcv',
  'ffffffff820a8200 t udp_queue_rcv_skb',
  'ffffffff820b0000 D some_data',
  'ffffffff820c0000 W weak_fn',
  'ffffffffc0a01000 t nft_do_chain\t[nf_tables]',
  'ffffffffc0a00000 t nft_other\t[nf_tables]',
].join('\n');

/** The file cut into pieces of `size` characters, as a read stream may cut it. */
function pieces(text: string, size: number): string[] {
  const out: string[] = [];
  for (let at = 0; at < text.length; at += size) out.push(text.slice(at, at + size));
  return out;
}

describe('nearestSymbols', () => {
  it.each([1, 7, 40, 1 << 16])(
    'names each address by the nearest text symbol at or below it, without the module (pieces of %i)',
    async (size) => {
      const found = await nearestSymbols(pieces(`${KALLSYMS}\n`, size), [
        0xffff_ffff_820a_7b2dn, // inside __udp4_lib_rcv
        0xffff_ffff_820a_7a70n, // its first byte
        0xffff_ffff_820b_0010n, // past data: still the text before it
        0xffff_ffff_820c_0004n,
        0xffff_ffff_c0a0_1234n, // a module's, listed out of order
        0xffff_ffff_c0a0_0fffn,
      ]);
      expect([...found.values()]).toEqual([
        '__udp4_lib_rcv',
        '__udp4_lib_rcv',
        'udp_queue_rcv_skb',
        'weak_fn',
        'nft_do_chain',
        'nft_other',
      ]);
    },
  );

  it('leaves out addresses below every symbol, and zero addresses (kptr_restrict)', async () => {
    const hidden = KALLSYMS.split('\n').map((l) => `0000000000000000${l.slice(16)}`);
    expect(await nearestSymbols([hidden.join('\n')], [0xffff_ffff_820a_7b2dn])).toEqual(new Map());
    expect(await nearestSymbols([KALLSYMS], [0x1000n])).toEqual(new Map());
  });
});

describe('KernelSymbols', () => {
  it('reads the list only for addresses not seen before, and keeps the hex form of unknown ones', async () => {
    const symbols = new KernelSymbols(() =>
      kallsymsSource(async function* () {
        yield* pieces(KALLSYMS, 10);
      }),
    );
    const a = 0xffff_ffff_820a_7b2dn;
    expect(await symbols.resolve([a, a, 0n, 0x1000n])).toEqual([0x1000n]);
    expect(symbols.name(a)).toBe('__udp4_lib_rcv');
    expect(symbols.name(0x1000n)).toBe('0x1000');
    expect(symbols.name(0n)).toBe('');
    expect(await symbols.resolve([a, 0x1000n])).toEqual([]);
    expect(symbols.readCount).toBe(1);
    expect(addressText(0xffff_ffff_c0a0_1234n)).toBe('0xffffffffc0a01234');
  });

  it('names addresses by their hex form when the list cannot be read, once, and says why', async () => {
    const symbols = new KernelSymbols(() =>
      kallsymsSource(async function* () {
        yield* [];
        throw Object.assign(new Error('EACCES: permission denied'), { code: 'EACCES' });
      }),
    );
    const a = 0xffff_ffff_820a_7b2dn;
    expect(symbols.named(a)).toBe(false);
    expect(await symbols.resolve([a])).toEqual([a]);
    expect(symbols.readError).toBe('EACCES: permission denied');
    expect(symbols.via).toBe('/proc/kallsyms');
    expect(symbols.named(a)).toBe(true);
    expect(symbols.name(a)).toBe('0xffffffff820a7b2d');
    expect(await symbols.resolve([a])).toEqual([]);
    expect(symbols.readCount).toBe(1);
  });
});
