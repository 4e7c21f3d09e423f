/**
 * A small reader of the Dockerfile syntax our Dockerfile uses: stages, instructions with
 * their continuation lines joined, and the arguments of COPY, ENV, LABEL, HEALTHCHECK and
 * the JSON forms.
 */

export interface Instruction {
  /** Upper case: FROM, RUN, COPY, ... */
  op: string;
  /** Everything after the instruction word, continuation lines joined with a space. */
  args: string;
  /** 1-based line where the instruction starts. */
  line: number;
}

export interface Stage {
  image: string;
  name: string | undefined;
  instructions: Instruction[];
}

export function parseDockerfile(text: string): Stage[] {
  const instructions: Instruction[] = [];
  const lines = text.split('\n');
  for (let i = 0; i < lines.length; i++) {
    const first = lines[i]!.trim();
    if (first === '' || first.startsWith('#')) continue;
    const start = i + 1;
    let joined = first;
    while (joined.endsWith('\\') && i + 1 < lines.length) {
      joined = joined.slice(0, -1).trimEnd();
      i++;
      const next = lines[i]!.trim();
      // As in Docker: comment lines inside a continued instruction are left out.
      if (next.startsWith('#')) continue;
      joined += ` ${next}`;
    }
    const m = /^(\S+)\s*(.*)$/s.exec(joined)!;
    instructions.push({ op: m[1]!.toUpperCase(), args: m[2]!.trim(), line: start });
  }

  const stages: Stage[] = [];
  for (const ins of instructions) {
    if (ins.op === 'FROM') {
      const m = /^(\S+)(?:\s+AS\s+(\S+))?$/i.exec(ins.args);
      if (!m) throw new Error(`line ${ins.line}: cannot read FROM ${ins.args}`);
      stages.push({ image: m[1]!, name: m[2], instructions: [] });
    } else if (stages.length === 0) {
      if (ins.op !== 'ARG') throw new Error(`line ${ins.line}: ${ins.op} before the first FROM`);
    } else {
      stages.at(-1)!.instructions.push(ins);
    }
  }
  return stages;
}

export interface Copy {
  from: string | undefined;
  sources: string[];
  dest: string;
}

export function parseCopy(args: string): Copy {
  const words = args.split(/\s+/);
  let from: string | undefined;
  while (words[0]?.startsWith('--')) {
    const flag = words.shift()!;
    if (flag.startsWith('--from=')) from = flag.slice('--from='.length);
    else throw new Error(`COPY flag ${flag} is not handled here`);
  }
  if (words.length < 2 || words[0]!.startsWith('[')) throw new Error(`cannot read COPY ${args}`);
  return { from, sources: words.slice(0, -1), dest: words.at(-1)! };
}

/** `key=value key2="value 2"` pairs, as ENV and LABEL take them. */
export function parsePairs(args: string): Record<string, string> {
  const out: Record<string, string> = {};
  const re = /([A-Za-z0-9_.-]+)=("(?:[^"\\]|\\.)*"|\S*)/g;
  for (const m of args.matchAll(re)) {
    const raw = m[2]!;
    out[m[1]!] = raw.startsWith('"') ? raw.slice(1, -1).replace(/\\(.)/g, '$1') : raw;
  }
  return out;
}

/** HEALTHCHECK [options] CMD ["exec", "form"]. */
export function parseHealthcheck(args: string): { options: Record<string, string>; cmd: string[] } {
  const m = /^((?:--\S+\s+)*)CMD\s+(\[.*\])$/s.exec(args);
  if (!m) throw new Error(`HEALTHCHECK must use CMD in exec (JSON) form: ${args}`);
  return { options: parsePairs(m[1]!.replace(/--/g, '')), cmd: JSON.parse(m[2]!) as string[] };
}

/** The package names after `apt-get install` in a shell command, flags left out. */
export function aptInstallPackages(command: string): string[] {
  const packages: string[] = [];
  for (const m of command.matchAll(/apt-get\s+install\s+([^&|;]*)/g)) {
    packages.push(...m[1]!.split(/\s+/).filter((w) => w && !w.startsWith('-')));
  }
  return packages;
}
