/**
 * Names a kernel code address (kfree_skb's location argument) by the function that holds
 * it, from /proc/kallsyms: the nearest text symbol at or below the address, without the
 * offset, as bpftrace's ksym() does. Names are cached for good; the file is read whole
 * (about 5 MB, kept only while it is scanned for the names asked for) only when addresses
 * not seen before come up: a node's few dozen drop sites cost a read or two. Reads in
 * place and one pass over the text, not a line stream: that took 0.4 s here, and many
 * times that under emulation, inside the collection that needed it.
 */
import fs from 'node:fs';

export const KALLSYMS_PATH = '/proc/kallsyms';

/** Text symbols: t and T, and weak ones (w, W). */
const TEXT_TYPES = new Set(['t', 'T', 'w', 'W']);

/** An address as 16 lower-case hex digits: compared as strings, they order as numbers. */
function hex16(address: bigint): string {
  return address.toString(16).padStart(16, '0');
}

/** How an address reads when no symbol names it: its hex form. */
export function addressText(address: bigint): string {
  return `0x${address.toString(16)}`;
}

/**
 * For each wanted address, the name of the nearest text symbol at or below it in the text
 * of a kallsyms file (lines "ffffffff81fbdf90 T nft_do_chain\t[nf_tables]"). Addresses no
 * symbol covers, or only a zero address covers (kptr_restrict hides addresses), are left out.
 */
export function nearestSymbols(text: string, wanted: readonly bigint[]): Map<bigint, string> {
  const targets = wanted.map((a) => ({ address: a, hex: hex16(a), best: '', name: '' }));
  for (let start = 0; start < text.length;) {
    let end = text.indexOf('\n', start);
    if (end < 0) end = text.length;
    // "<address> <type> <name>[\t[module]]"
    const space = text.indexOf(' ', start);
    if (space > start && space < end && TEXT_TYPES.has(text[space + 1]!)) {
      const at = text.slice(start, space).padStart(16, '0');
      if (at !== ZERO) {
        for (const t of targets) {
          if (at <= t.hex && at > t.best) {
            t.best = at;
            const tab = text.indexOf('\t', space + 3);
            t.name = text.slice(space + 3, tab < 0 || tab > end ? end : tab);
          }
        }
      }
    }
    start = end + 1;
  }
  return new Map(targets.filter((t) => t.name).map((t) => [t.address, t.name]));
}

const ZERO = '0'.repeat(16);

/**
 * The whole of a /proc file. The kernel hands kallsyms out a page per read (about 1,300
 * reads for its 5 MB): each through the thread pool took 0.4 s here, against 0.1 s for the
 * same reads done in place, so they are done in place, in the rare collection that meets
 * a new drop site.
 */
function readProcFile(file: string): string {
  const fd = fs.openSync(file, 'r');
  try {
    const buffer = Buffer.allocUnsafe(1 << 16);
    const chunks: Buffer[] = [];
    for (let n; (n = fs.readSync(fd, buffer, 0, buffer.length, null)) > 0;) {
      chunks.push(Buffer.from(buffer.subarray(0, n)));
    }
    return Buffer.concat(chunks).toString('utf8');
  } finally {
    fs.closeSync(fd);
  }
}

export class KernelSymbols {
  private readonly names = new Map<bigint, string>();
  private reads = 0;

  constructor(
    /** Reads the symbol list; /proc/kallsyms by default, a fixture in tests. */
    private readonly read: () => Promise<string> = async () => readProcFile(KALLSYMS_PATH),
  ) {}

  /** Times the symbol list was read. */
  get readCount(): number {
    return this.reads;
  }

  /**
   * Looks up the addresses not named yet. Those no symbol names keep their hex form, so
   * a kernel that hides its addresses costs one read, not one per collection. Returns them.
   */
  async resolve(addresses: Iterable<bigint>): Promise<bigint[]> {
    const unknown = [...new Set(addresses)].filter((a) => a !== 0n && !this.names.has(a));
    if (unknown.length === 0) return [];
    this.reads++;
    const found = nearestSymbols(await this.read(), unknown);
    const unresolved: bigint[] = [];
    for (const a of unknown) {
      const name = found.get(a);
      if (!name) unresolved.push(a);
      this.names.set(a, name ?? addressText(a));
    }
    return unresolved;
  }

  /** The function name of a resolved address, its hex form otherwise; '' for 0 (no location). */
  name(address: bigint): string {
    if (address === 0n) return '';
    return this.names.get(address) ?? addressText(address);
  }
}
