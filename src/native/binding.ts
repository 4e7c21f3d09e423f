/**
 * The typed face of the native addon (native/bpf_addon.cc). Everything domain-specific
 * lives in TypeScript; the addon only wraps libbpf.
 */
import { createRequire } from 'node:module';
import { fileURLToPath } from 'node:url';
import path from 'node:path';

export interface ProgramSpec {
  name: string;
  section: string;
  type: string;
  autoload: boolean;
}

export interface MapSpec {
  name: string;
  type: string;
  keySize: number;
  valueSize: number;
  maxEntries: number;
}

/** A whole map's contents: `count` keys back to back, then their values. */
export interface MapDump {
  count: number;
  keys: Buffer;
  values: Buffer;
  keySize: number;
  valueSize: number;
  /** Bytes per entry in `values`: for per-CPU maps, one 8-byte-aligned slot per possible CPU. */
  valueStride: number;
  perCpu: boolean;
}

export interface ProgramInfo {
  id: number;
  runTimeNs: bigint;
  runCount: bigint;
  attached: boolean;
}

/** Errors thrown by the addon carry the step, the errno name and libbpf's log. */
export interface BpfError extends Error {
  code: string;
  errno: number;
  step: string;
  libbpfLog: string;
}

export interface BpfObjectHandle {
  programs(): ProgramSpec[];
  maps(): MapSpec[];
  setAutoload(program: string, enabled: boolean): void;
  setConstant(name: string, value: Buffer): void;
  /** Before load: use the loaded map of the same name in `other` instead of a new one. */
  reuseMap(name: string, other: BpfObjectHandle): void;
  load(): Promise<void>;
  attach(program: string): Promise<void>;
  detach(program?: string): void;
  readMap(name: string): Promise<MapDump>;
  programInfo(program: string): ProgramInfo | null;
  /** Runs a loaded program once (BPF_PROG_TEST_RUN), ctx as its context; returns its return value. */
  testRun(program: string, ctx: Buffer): number;
  /** Writes one element of a map that is not per-CPU. */
  updateElem(map: string, key: Buffer, value: Buffer): void;
  /** Deletes `count` keys laid back to back; resolves with how many existed. */
  deleteKeys(map: string, keys: Buffer, count: number): Promise<number>;
  /** Before load: gives a map another type and shape (libbpf's type name, e.g. "array"). */
  setMapDefinition(map: string, type: string, keySize: number, valueSize: number, maxEntries: number): void;
  /**
   * Takes every record waiting in a ring buffer map, off the main thread, without waiting
   * for more. One call at a time per map.
   */
  consumeRing(map: string): Promise<Buffer[]>;
  close(): void;
}

export interface NativeBinding {
  BpfObject: new (objectPath: string, btfCustomPath?: string) => BpfObjectHandle;
  readBtfEnum(enumName: string, btfPath?: string): Promise<Array<[string, number]> | null>;
  raiseMemlock(): { ok: true } | { ok: false; code: string; errno: number };
  possibleCpus(): number;
  /** Whether the running kernel can create maps of this type (libbpf's name, e.g. "ringbuf"). */
  mapTypeSupported(type: string): boolean;
  /** mallopt(3): glibc's "arena_max", "mmap_threshold" or "trim_threshold"; whether glibc took it. */
  setMallocOption(option: 'arena_max' | 'mmap_threshold' | 'trim_threshold', value: number): boolean;
}

/** Root of the installed package (holds dist/, build/ and otel-config.yaml). */
export const packageRoot = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '../..');

/**
 * glibc's malloc settings, set when the addon is loaded, before libbpf parses the kernel's
 * BTF: with a fixed mmap threshold, the large blocks that parsing frees (about 11 MB) go
 * back to the kernel. Otherwise glibc raises the threshold after the first such block, the
 * rest is carved from a worker thread's arena, and what is freed at the top of that arena
 * stays resident (malloc_trim does not trim it). Set with mallopt rather than
 * GLIBC_TUNABLES, which glibc ignores when node runs with file capabilities (the image).
 */
export const MALLOC_OPTIONS = { mmap_threshold: 128 * 1024 } as const;

let binding: NativeBinding | undefined;

export function loadBinding(): NativeBinding {
  if (!binding) {
    const require = createRequire(import.meta.url);
    const file = path.join(packageRoot, 'build/Release/bpf_addon.node');
    try {
      binding = require(file) as NativeBinding;
    } catch (err) {
      throw new Error(
        `cannot load the native addon ${file} (run scripts/setup.sh to build it): ${(err as Error).message}`,
        {
          cause: err,
        },
      );
    }
    for (const [option, value] of Object.entries(MALLOC_OPTIONS))
      binding.setMallocOption(option as keyof typeof MALLOC_OPTIONS, value);
  }
  return binding;
}

export function isBpfError(err: unknown): err is BpfError {
  return err instanceof Error && typeof (err as BpfError).step === 'string';
}
