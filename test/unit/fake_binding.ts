/**
 * A fake of the native addon, typed against its interface (NativeBinding), so a change to
 * the addon's face breaks this file at compile time. Its object holds the programs and maps
 * the real one does (as the agent names them); a test says which loads and attaches the
 * kernel refuses, with the errors the addon would throw.
 */
import type {
  BpfError,
  BpfObjectHandle,
  MapDump,
  MapSpec,
  NativeBinding,
  ProgramInfo,
  ProgramSpec,
} from '../../src/native/binding.js';
import { MAP_LAYOUTS } from '../../src/receiver/dropreason/abi.js';
import { FUNCTION_HOOKS } from '../../src/receiver/dropreason/function_hooks.js';

/** The counter programs of bpf/dropreason.bpf.c, by their section. */
const COUNTERS: ProgramSpec[] = [
  { name: 'dr_kfree_skb_btf', section: 'tp_btf/kfree_skb', type: 'tracing', autoload: true },
  { name: 'dr_kfree_skb_tp', section: 'tracepoint/skb/kfree_skb', type: 'tracepoint', autoload: true },
];

function hookPrograms(): ProgramSpec[] {
  return FUNCTION_HOOKS.flatMap((h) => [
    ...h.programs.fexit.map((name) => ({ name, section: `fexit/${h.fn}`, type: 'tracing', autoload: true })),
    ...h.programs.kprobe.map((name) => ({ name, section: `kprobe/${h.fn}`, type: 'kprobe', autoload: true })),
  ]);
}

/** An Error shaped as the addon throws them: `step: detail: message (CODE)`. */
export function bpfError(step: string, code: string, errno: number, detail = '', libbpfLog = ''): BpfError {
  const text = `${step}: ${detail ? `${detail}: ` : ''}${code.toLowerCase()} (${code})`;
  return Object.assign(new Error(text), { code, errno, step, libbpfLog });
}

export interface FakeKernel {
  /** The error loading an object with these programs autoloaded fails with, if it does. */
  load?(programs: string[]): BpfError | undefined;
  /** The error attaching this program fails with, if it does. */
  attach?(program: string): BpfError | undefined;
  /** Maps whose sizes differ from MAP_LAYOUTS, or that the object lacks (null). */
  maps?: Record<string, Partial<MapSpec> | null>;
  memlock?: ReturnType<NativeBinding['raiseMemlock']>;
  /** Map types the kernel cannot create (e.g. ringbuf before 5.8). */
  unsupportedMapTypes?: string[];
  /** Records waiting in each ring buffer map, taken by consumeRing(). */
  rings?: Record<string, Buffer[]>;
  /** What a read of this map gives, when not empty. */
  read?(map: string): MapDump | undefined;
}

export class FakeBpfObject implements BpfObjectHandle {
  readonly autoload = new Map<string, boolean>();
  readonly constants = new Map<string, Buffer>();
  readonly reused: string[] = [];
  /** Maps given another definition before load: name to [type, keySize, valueSize, maxEntries]. */
  readonly redefined = new Map<string, [string, number, number, number]>();
  readonly attached: string[] = [];
  loaded = false;
  closed = false;

  constructor(
    private readonly kernel: FakeKernel,
    readonly objectPath: string,
    readonly btfPath: string | undefined,
  ) {
    for (const p of [...COUNTERS, ...hookPrograms()]) this.autoload.set(p.name, p.autoload);
  }

  /** The programs this object loads. */
  get loading(): string[] {
    return [...this.autoload].filter(([, on]) => on).map(([name]) => name);
  }

  programs(): ProgramSpec[] {
    return [...COUNTERS, ...hookPrograms()].map((p) => ({ ...p, autoload: this.autoload.get(p.name)! }));
  }

  maps(): MapSpec[] {
    const maps: MapSpec[] = [];
    for (const [name, layout] of Object.entries(MAP_LAYOUTS)) {
      const change = this.kernel.maps?.[name];
      if (change === null) continue;
      maps.push({ name, type: 'percpu_hash', maxEntries: 1, ...layout, ...change });
    }
    return maps;
  }

  setAutoload(program: string, enabled: boolean): void {
    if (!this.autoload.has(program)) throw bpfError('set autoload', 'ENOENT', 2, program);
    this.autoload.set(program, enabled);
  }

  setConstant(name: string, value: Buffer): void {
    this.constants.set(name, value);
  }

  reuseMap(name: string): void {
    this.reused.push(name);
  }

  async load(): Promise<void> {
    // The address namer needs bpf_snprintf; the fake kernel is one without it (before 5.13).
    if (this.objectPath.endsWith('symbols.bpf.o'))
      throw bpfError('load', 'EINVAL', 22, 'name_address: unknown func bpf_snprintf#165');
    const err = this.kernel.load?.(this.loading);
    if (err) throw err;
    this.loaded = true;
  }

  async attach(program: string): Promise<void> {
    if (!this.loaded) throw bpfError('attach', 'EBADF', 9, `${program} is not loaded`);
    const err = this.kernel.attach?.(program);
    if (err) throw err;
    this.attached.push(program);
  }

  detach(program?: string): void {
    const kept = program === undefined ? [] : this.attached.filter((p) => p !== program);
    this.attached.splice(0, this.attached.length, ...kept);
  }

  async readMap(name: string): Promise<MapDump> {
    const layout = MAP_LAYOUTS[name];
    if (!layout) throw bpfError('read map', 'ENOENT', 2, name);
    const dump = this.kernel.read?.(name);
    if (dump) return dump;
    const empty = Buffer.alloc(0);
    return { count: 0, keys: empty, values: empty, ...layout, valueStride: layout.valueSize, perCpu: false };
  }

  programInfo(program: string): ProgramInfo | null {
    return this.attached.includes(program) ? { id: 1, runTimeNs: 0n, runCount: 0n, attached: true } : null;
  }

  testRun(program: string): number {
    throw bpfError('test run', 'EBADF', 9, `${program} is not loaded`);
  }

  updateElem(): void {}

  async deleteKeys(): Promise<number> {
    return 0;
  }

  setMapDefinition(map: string, type: string, keySize: number, valueSize: number, maxEntries: number): void {
    if (this.loaded) throw bpfError('set map definition', 'EBUSY', 16, map);
    this.redefined.set(map, [type, keySize, valueSize, maxEntries]);
  }

  async consumeRing(map: string): Promise<Buffer[]> {
    if (!this.loaded) throw bpfError('consume ring', 'EBADF', 9, `${map} is not loaded`);
    const waiting = this.kernel.rings?.[map] ?? [];
    return waiting.splice(0, waiting.length);
  }

  close(): void {
    this.closed = true;
  }
}

export interface FakeBinding extends NativeBinding {
  /** Every object opened, in order. */
  readonly objects: FakeBpfObject[];
}

export function fakeBinding(kernel: FakeKernel = {}): FakeBinding {
  const objects: FakeBpfObject[] = [];
  return {
    objects,
    BpfObject: class extends FakeBpfObject {
      constructor(objectPath: string, btfPath?: string) {
        super(kernel, objectPath, btfPath);
        objects.push(this);
      }
    },
    readBtfEnum: async () => null,
    raiseMemlock: () => kernel.memlock ?? { ok: true },
    possibleCpus: () => 2,
    mapTypeSupported: (type) => !kernel.unsupportedMapTypes?.includes(type),
    setMallocOption: () => true,
  };
}
