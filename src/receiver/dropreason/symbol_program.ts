/**
 * Names kernel code addresses with the kernel's own symbol table: bpf/symbols.bpf.c, run
 * once per address with BPF_PROG_TEST_RUN, writes "%pB" of it ("function+0x1a/0x60
 * [module]") to a one-slot map. A lookup costs microseconds, where a read of
 * /proc/kallsyms costs 0.13 s of CPU here and seconds on a slow machine. The program needs
 * bpf_snprintf (Linux 5.13); older kernels name addresses from /proc/kallsyms.
 */
import path from 'node:path';

import { type BpfObjectHandle, type NativeBinding, packageRoot } from '../../native/binding.js';
import type { Logger } from '../../service/logger.js';
import { type SymbolSource, kallsymsSource } from './kallsyms.js';

export const SYMBOLS_OBJECT_PATH = path.join(packageRoot, 'dist/bpf/symbols.bpf.o');
const PROGRAM = 'name_address';
const MAP = 'symbol_name';

/** The function in a "%pB" text ("nft_do_chain+0x1a/0x500 [nf_tables]"); undefined for a bare address. */
export function functionOf(backtrace: string): string | undefined {
  const plus = backtrace.indexOf('+');
  return plus > 0 ? backtrace.slice(0, plus) : undefined;
}

export class SymbolProgram implements SymbolSource {
  readonly via = 'the kernel symbol table';

  /** The lookup in flight: one at a time, as all of them share the one map slot. */
  private queue: Promise<unknown> = Promise.resolve();

  constructor(private readonly object: BpfObjectHandle) {}

  /** Loads the program; throws the loader's error (a kernel before 5.13 has no bpf_snprintf). */
  static async open(binding: NativeBinding, objectPath = SYMBOLS_OBJECT_PATH): Promise<SymbolProgram> {
    const object = new binding.BpfObject(objectPath);
    try {
      await object.load();
      return new SymbolProgram(object);
    } catch (err) {
      object.close();
      throw err;
    }
  }

  /** Names the addresses; a call made while another runs waits for it (collections and samples both ask). */
  names(addresses: readonly bigint[]): Promise<Map<bigint, string>> {
    const run = this.queue.then(() => this.nameEach(addresses));
    this.queue = run.catch(() => undefined);
    return run;
  }

  private async nameEach(addresses: readonly bigint[]): Promise<Map<bigint, string>> {
    const found = new Map<bigint, string>();
    const ctx = Buffer.alloc(8);
    for (const address of addresses) {
      ctx.writeBigUInt64LE(address);
      // bpf_snprintf's result: the length written with its NUL, or a negative error.
      if (this.object.testRun(PROGRAM, ctx) <= 0) continue;
      const dump = await this.object.readMap(MAP);
      const text = dump.values.subarray(0, dump.valueSize);
      const end = text.indexOf(0);
      const name = functionOf(text.toString('latin1', 0, end < 0 ? text.length : end));
      if (name) found.set(address, name);
    }
    return found;
  }

  close(): void {
    this.object.close();
  }
}

/**
 * The source of names for drop locations: the kernel's symbol table when the program loads,
 * /proc/kallsyms otherwise. Says which in the log; never throws.
 */
export async function kernelSymbolSource(binding: () => NativeBinding, log: Logger): Promise<SymbolSource> {
  try {
    const program = await SymbolProgram.open(binding());
    log.debug('drop locations are named by the kernel symbol table');
    return program;
  } catch (err) {
    log.info(
      'drop locations are named from /proc/kallsyms: the kernel cannot name them itself (bpf_snprintf needs Linux 5.13)',
      {
        error: (err as Error).message.split('\n')[0],
      },
    );
    return kallsymsSource();
  }
}
