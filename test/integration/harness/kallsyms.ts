/**
 * /proc/kallsyms as a test reads it for itself, apart from the agent's reader, so that the
 * names the agent gives can be checked against the kernel's own list.
 */
import fs from 'node:fs';

export interface KallsymsEntry {
  address: bigint;
  /** t/T text, w/W weak, d/D data, …: the nm letter. */
  type: string;
  name: string;
  /** "[module]" for a module's symbol. */
  module: string | undefined;
}

/** Every line of /proc/kallsyms, in its order; addresses hidden by kptr_restrict read 0. */
export function readKallsyms(): KallsymsEntry[] {
  const entries: KallsymsEntry[] = [];
  for (const line of fs.readFileSync('/proc/kallsyms', 'latin1').split('\n')) {
    const [address, type, name, module] = line.split(/\s+/);
    if (address && type && name) entries.push({ address: BigInt(`0x${address}`), type, name, module });
  }
  return entries;
}
