/**
 * Names a kernel code address (kfree_skb's location argument) by the function that holds
 * it, without the offset, as bpftrace's ksym() does. Two sources name addresses: the
 * kernel's own symbol table through a small BPF program (symbol_program.ts: microseconds an
 * address), and /proc/kallsyms, read as a stream that keeps nothing but the names asked
 * for (about 0.13 s of CPU a read here, seconds on a slow machine), on kernels where the
 * program cannot load. Names are cached for good.
 */
import fs from 'node:fs';

export const KALLSYMS_PATH = '/proc/kallsyms';

/** Text symbols: t and T, and weak ones (w, W). */
const TEXT_TYPES = new Set(['t', 'T', 'w', 'W']);

const ZERO16 = '0'.repeat(16);

/** An address as 16 lower-case hex digits: compared as strings, they order as numbers. */
function hex16(address: bigint): string {
  return address.toString(16).padStart(16, '0');
}

/** How an address reads when no symbol names it: its hex form. */
export function addressText(address: bigint): string {
  return `0x${address.toString(16)}`;
}

/**
 * For each wanted address, the name of the nearest text symbol at or below it in a
 * kallsyms file ("ffffffff81fbdf90 T nft_do_chain\t[nf_tables]" a line), given as pieces
 * of text that may split lines anywhere. Addresses no symbol covers, or only a zero address
 * covers (kptr_restrict hides addresses), are left out. The file has over 100,000 lines:
 * they are scanned in place, one synchronous pass per piece.
 */
export async function nearestSymbols(
  pieces: Iterable<string> | AsyncIterable<string>,
  wanted: readonly bigint[],
): Promise<Map<bigint, string>> {
  const targets = wanted.map((a) => ({ address: a, hex: hex16(a), best: '', name: '' }));
  // One line, text[start, end): "<address> <type> <name>[\t[module]]".
  const line = (text: string, start: number, end: number): void => {
    const first = text.indexOf(' ', start);
    if (first < 0 || first + 3 > end || !TEXT_TYPES.has(text[first + 1] ?? '')) return;
    const at = text.slice(start, first).padStart(16, '0');
    if (at === ZERO16) return;
    for (const t of targets) {
      if (at <= t.hex && at > t.best) {
        t.best = at;
        const tab = text.indexOf('\t', first + 3);
        t.name = text.slice(first + 3, tab < 0 || tab > end ? end : tab);
      }
    }
  };
  let carry = '';
  for await (const piece of pieces) {
    const text = carry + piece;
    let start = 0;
    for (let nl = text.indexOf('\n'); nl >= 0; nl = text.indexOf('\n', start)) {
      line(text, start, nl);
      start = nl + 1;
    }
    carry = text.slice(start);
  }
  if (carry) line(carry, 0, carry.length);
  return new Map(targets.filter((t) => t.name).map((t) => [t.address, t.name]));
}

/**
 * A file's text, a read at a time. The kernel gives /proc/kallsyms about 4 KiB a read; a
 * stream would add a buffer copy and an event per read, which doubles the CPU it takes.
 */
async function* readPieces(path: string): AsyncGenerator<string> {
  const file = await fs.promises.open(path);
  const buffer = Buffer.allocUnsafe(1 << 16);
  try {
    for (;;) {
      const { bytesRead } = await file.read(buffer, 0, buffer.length, null);
      if (bytesRead === 0) return;
      yield buffer.toString('latin1', 0, bytesRead); // the file is ASCII
    }
  } finally {
    await file.close();
  }
}

/** Names addresses, a batch at a time; the map leaves out those it cannot name. */
export interface SymbolSource {
  /** What names them, for logs. */
  readonly via: string;
  /** Why it may find no name for an address, for the log that says so. */
  readonly notFoundHint?: string;
  names(addresses: readonly bigint[]): Promise<Map<bigint, string>>;
  close?(): void;
}

/** Names from a kallsyms file, read through once per batch; /proc/kallsyms by default, a fixture in tests. */
export function kallsymsSource(open: () => AsyncIterable<string> = () => readPieces(KALLSYMS_PATH)): SymbolSource {
  return {
    via: KALLSYMS_PATH,
    notFoundHint: 'kernel.kptr_restrict hides addresses from this process?',
    names: (addresses) => nearestSymbols(open(), addresses),
  };
}

export class KernelSymbols {
  private readonly names = new Map<bigint, string>();
  private source: Promise<SymbolSource> | undefined;
  private lookups = 0;

  constructor(
    /** Gives the source of names, when the first address comes up. */
    private readonly choose: () => Promise<SymbolSource> | SymbolSource = () => kallsymsSource(),
  ) {}

  /** Times the source was asked for names. */
  get readCount(): number {
    return this.lookups;
  }

  /** Why the last lookup failed, if it did. */
  readError: string | undefined;
  /** The source that names addresses, once the first one came up. */
  private chosen: SymbolSource | undefined;

  /** What names addresses, once the first one came up. */
  get via(): string | undefined {
    return this.chosen?.via;
  }

  /** Why the source may find no name for an address. */
  get notFoundHint(): string | undefined {
    return this.chosen?.notFoundHint;
  }

  /** Chooses the source now, so that the first lookup need not wait for it. */
  prepare(): void {
    this.source ??= Promise.resolve(this.choose());
  }

  /**
   * Looks up the addresses not named yet. Those no symbol names keep their hex form, so
   * a kernel that hides its addresses, or a symbol list that cannot be read (readError
   * says why), costs one lookup, not one per collection. Returns them; never throws.
   */
  async resolve(addresses: Iterable<bigint>): Promise<bigint[]> {
    const unknown = [...new Set(addresses)].filter((a) => !this.named(a));
    if (unknown.length === 0) return [];
    this.lookups++;
    let found = new Map<bigint, string>();
    try {
      this.prepare();
      this.chosen = await this.source!;
      found = await this.chosen.names(unknown);
      this.readError = undefined;
    } catch (err) {
      this.readError = (err as Error).message;
    }
    const unresolved: bigint[] = [];
    for (const a of unknown) {
      const name = found.get(a);
      if (!name) unresolved.push(a);
      this.names.set(a, name ?? addressText(a));
    }
    return unresolved;
  }

  /** Whether resolve() has given the address its name (or hex form); 0 (no location) needs none. */
  named(address: bigint): boolean {
    return address === 0n || this.names.has(address);
  }

  /** The function name of a resolved address, its hex form otherwise; '' for 0 (no location). */
  name(address: bigint): string {
    if (address === 0n) return '';
    return this.names.get(address) ?? addressText(address);
  }

  /** Lets the source go (the kernel program's maps); a later lookup chooses one again. */
  async close(): Promise<void> {
    const source = this.source;
    this.source = undefined;
    (await source?.catch(() => undefined))?.close?.();
  }
}
