/**
 * Names a kernel code address (kfree_skb's location argument) by the function that holds
 * it, from /proc/kallsyms: the nearest text symbol at or below the address, without the
 * offset, as bpftrace's ksym() does. Names are cached for good; the file is read, as a
 * stream that keeps nothing but the names asked for, only when addresses not seen before
 * come up: a node's few dozen drop sites cost a read or two.
 */
import fs from 'node:fs';
import readline from 'node:readline';

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
 * For each wanted address, the name of the nearest text symbol at or below it among the
 * lines of a kallsyms file ("ffffffff81fbdf90 T nft_do_chain\t[nf_tables]"). Addresses no
 * symbol covers, or only a zero address covers (kptr_restrict hides addresses), are left out.
 */
export async function nearestSymbols(
  lines: Iterable<string> | AsyncIterable<string>,
  wanted: readonly bigint[],
): Promise<Map<bigint, string>> {
  const targets = wanted.map((a) => ({ address: a, hex: hex16(a), best: '', name: '' }));
  for await (const line of lines) {
    // "<address> <type> <name>[\t[module]]"
    const first = line.indexOf(' ');
    if (first < 0 || !TEXT_TYPES.has(line[first + 1] ?? '')) continue;
    const at = line.slice(0, first).padStart(16, '0');
    if (/^0+$/.test(at)) continue;
    for (const t of targets) {
      if (at <= t.hex && at > t.best) {
        t.best = at;
        const tab = line.indexOf('\t', first + 3);
        t.name = line.slice(first + 3, tab < 0 ? undefined : tab);
      }
    }
  }
  return new Map(targets.filter((t) => t.name).map((t) => [t.address, t.name]));
}

export class KernelSymbols {
  private readonly names = new Map<bigint, string>();
  private reads = 0;

  constructor(
    /** Opens the symbol list; /proc/kallsyms by default, a fixture in tests. */
    private readonly open: () => AsyncIterable<string> = () =>
      readline.createInterface({ input: fs.createReadStream(KALLSYMS_PATH), crlfDelay: Infinity }),
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
    const found = await nearestSymbols(this.open(), unknown);
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
