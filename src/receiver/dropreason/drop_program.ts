/**
 * Loads bpf/dropreason.bpf.c and attaches its kfree_skb counter: open, set constants,
 * check map layouts, load, attach; then read the maps on demand. tp_btf is preferred;
 * the classic tracepoint is the fallback when tp_btf cannot load or attach.
 */
import fs from 'node:fs';
import path from 'node:path';

import { type BpfObjectHandle, type NativeBinding, isBpfError, packageRoot } from '../../native/binding.js';
import type { Logger } from '../../service/logger.js';
import { FunctionHooks, type FunctionHooksChoice } from './function_hooks.js';
import {
  checkMapLayouts,
  decodeAdvMap,
  decodeMetricsMap,
  decodeReasonArray,
  decodeOverflowMap,
  decodeSampleRefused,
  type DropCounter,
  type FlowCounter,
} from './abi.js';
import { effectiveCapabilities, kernelAtLeast, kernelVersion, missingCapabilities } from './privileges.js';

export type Hook = 'tp_btf' | 'tracepoint';
export type HookChoice = 'auto' | Hook;

const PROGRAM_FOR_HOOK: Record<Hook, string> = {
  tp_btf: 'dr_kfree_skb_btf',
  tracepoint: 'dr_kfree_skb_tp',
};

export const DEFAULT_OBJECT_PATH = path.join(packageRoot, 'dist/bpf/dropreason.bpf.o');
export const KERNEL_BTF_PATH = '/sys/kernel/btf/vmlinux';
/** How long a switch of flow maps waits for programs still writing the old one. */
const FLOW_MAP_GRACE_MS = 5;

export interface DropProgramOptions {
  hook: HookChoice;
  /** BTF for CO-RE when the kernel has none at /sys/kernel/btf/vmlinux. */
  btfPath?: string | undefined;
  /** Count only drops in the network namespace with this inode; 0 or undefined for all. */
  netnsInode?: number | undefined;
  objectPath?: string;
  /** Also count per flow, for advanced mode. */
  advanced?: boolean;
  /** Count each drop by its location (the kernel function that freed it) too. */
  location?: boolean;
  /** Which strategies the function hooks may use. */
  functionHooks?: FunctionHooksChoice;
  /** Whether this kernel's kfree_skb tracepoint gives reasons (enum skb_drop_reason exists). */
  kernelHasReasons?: boolean;
  /** Samples of drops to take a second, in all and of one reason; none when absent or 0. */
  samples?: { perSecond: number; perReason: number } | undefined;
}

export interface DropSnapshot {
  counters: DropCounter[];
  /** Entries in metrics_map, the hash that can fill up. */
  mapEntries?: number;
  overflow: Array<{ direction: number; count: number; bytes: number }>;
}

/**
 * What must hold before anything is loaded: capabilities, kernel BTF, the built object.
 * Throws one clear Error; returns the object path.
 */
export function checkPrerequisites(opts: DropProgramOptions): string {
  const missing = missingCapabilities(effectiveCapabilities());
  if (missing) throw new Error(missing);

  const btfPath = opts.btfPath ?? KERNEL_BTF_PATH;
  if (!fs.existsSync(btfPath)) {
    throw new Error(
      opts.btfPath
        ? `btf_path ${opts.btfPath} does not exist`
        : `this kernel exposes no BTF at ${KERNEL_BTF_PATH}: dropreason needs a kernel built with ` +
            `CONFIG_DEBUG_INFO_BTF=y, or a BTF file for it given as btf_path`,
    );
  }
  const objectPath = opts.objectPath ?? DEFAULT_OBJECT_PATH;
  if (!fs.existsSync(objectPath)) {
    throw new Error(`BPF object ${objectPath} not found: run scripts/setup.sh to build it`);
  }

  return objectPath;
}

export class DropProgram {
  /** Retina's function hooks, attached after the counter. */
  hooks: FunctionHooks | undefined;
  /** The budget epoch the kernel charges samples to now. */
  private sampleEpoch = 0;

  private constructor(
    private readonly object: BpfObjectHandle,
    /** The hook the counter is attached to. */
    readonly hook: Hook,
    readonly programName: string,
    /** `on`, `off` (not asked for), or why the kernel cannot take samples. */
    readonly samples: string,
  ) {}

  /** Checks privileges and BTF, then loads and attaches; throws one clear Error. */
  static async open(binding: NativeBinding, opts: DropProgramOptions, log: Logger): Promise<DropProgram> {
    return DropProgram.load(binding, checkPrerequisites(opts), opts, log);
  }

  /**
   * Loads and attaches the object at `objectPath`, its prerequisites checked: the counter on
   * the first hook that works, then the function hooks. Throws one Error naming each hook tried.
   */
  static async load(
    binding: NativeBinding,
    objectPath: string,
    opts: DropProgramOptions,
    log: Logger,
  ): Promise<DropProgram> {
    const memlock = binding.raiseMemlock();
    if (!memlock.ok) {
      // From 5.11 BPF memory is charged to the memory cgroup and the rlimit is unused.
      if (!kernelAtLeast(kernelVersion(), 5, 11)) {
        throw new Error(
          `cannot raise RLIMIT_MEMLOCK (${memlock.code}): kernels before 5.11 need it for BPF maps; ` +
            `grant CAP_SYS_RESOURCE (or CAP_SYS_ADMIN), or raise the limit before starting`,
        );
      }
      log.debug('RLIMIT_MEMLOCK not raised; not needed on this kernel', { code: memlock.code });
    }

    const hooks: Hook[] = opts.hook === 'auto' ? ['tp_btf', 'tracepoint'] : [opts.hook];
    const failures: string[] = [];
    for (const hook of hooks) {
      try {
        const program = await DropProgram.tryHook(binding, objectPath, opts, hook);
        try {
          program.hooks = await FunctionHooks.attach(
            binding,
            program.object,
            {
              objectPath,
              btfPath: opts.btfPath,
              netnsInode: opts.netnsInode ?? 0,
              choice: opts.functionHooks ?? 'auto',
              kernelHasReasons: opts.kernelHasReasons ?? true,
            },
            log,
          );
        } catch (err) {
          program.close();
          throw err;
        }
        return program;
      } catch (err) {
        const detail = describeFailure(err, hook);
        failures.push(`${hook}: ${detail}`);
        if (hooks.length > 1) log.warn(`cannot use ${hook} for skb:kfree_skb`, { error: detail });
      }
    }
    throw new Error(`cannot count drops on skb:kfree_skb: ${failures.join('; ')}`);
  }

  private static async tryHook(
    binding: NativeBinding,
    objectPath: string,
    opts: DropProgramOptions,
    hook: Hook,
  ): Promise<DropProgram> {
    const object = new binding.BpfObject(objectPath, opts.btfPath);
    try {
      // Only the counter for this hook; the function hooks load separately (FunctionHooks).
      for (const p of object.programs()) object.setAutoload(p.name, p.name === PROGRAM_FOR_HOOK[hook]);
      const netns = Buffer.alloc(4);
      netns.writeUInt32LE(opts.netnsInode ?? 0);
      object.setConstant('filter_netns_ino', netns);
      object.setConstant('advanced_enabled', u32(opts.advanced ? 1 : 0));
      object.setConstant('location_enabled', u32(opts.location ? 1 : 0));
      checkMapLayouts(object.maps());
      const samples = sampleState(binding, opts.samples);
      object.setConstant('samples_enabled', u32(samples === 'on' ? 1 : 0));
      object.setConstant('sample_limit', u32(opts.samples?.perSecond ?? 0));
      object.setConstant('sample_reason_limit', u32(opts.samples?.perReason ?? 0));
      // Without samples no ring buffer is made: a one-slot array stands in for it, which
      // the verifier never meets (samples_enabled is 0, so the code using it is dead).
      if (samples !== 'on') object.setMapDefinition('drop_samples', 'array', 4, 4, 1);
      await object.load();
      await object.attach(PROGRAM_FOR_HOOK[hook]);
      return new DropProgram(object, hook, PROGRAM_FOR_HOOK[hook], samples);
    } catch (err) {
      object.close();
      throw err;
    }
  }

  async read(): Promise<DropSnapshot> {
    const [fast, metrics, overflow] = await Promise.all([
      this.object.readMap('reason_array'),
      this.object.readMap('metrics_map'),
      this.object.readMap('overflow_map'),
    ]);
    return {
      counters: [...decodeReasonArray(fast), ...decodeMetricsMap(metrics)],
      overflow: decodeOverflowMap(overflow),
      mapEntries: metrics.count,
    };
  }

  /** Which of adv_map_0/1 the kernel writes now. */
  private activeFlowMap = 0;

  /**
   * Advanced mode: the flows counted since the last call. Switches the kernel to the other
   * flow map, waits for programs still writing the old one to finish (they run for
   * nanoseconds), then reads and empties it, so no increment is lost to a race.
   */
  async readFlows(): Promise<{
    flows: FlowCounter[];
    other: Array<{ direction: number; count: number; bytes: number }>;
  }> {
    const drained = this.activeFlowMap;
    this.activeFlowMap = 1 - drained;
    this.object.updateElem('adv_control', u32(0), u32(this.activeFlowMap));
    await new Promise((resolve) => setTimeout(resolve, FLOW_MAP_GRACE_MS));
    const name = `adv_map_${drained}`;
    const [dump, other] = await Promise.all([this.object.readMap(name), this.object.readMap('adv_other')]);
    await this.object.deleteKeys(name, dump.keys, dump.count);
    return { flows: decodeAdvMap(dump), other: decodeOverflowMap(other) };
  }

  /** Starts a new budget epoch: each slot of the sample budget may give its limit again. */
  nextSampleEpoch(): number {
    this.sampleEpoch = (this.sampleEpoch + 1) >>> 0;
    this.object.updateElem('sample_epoch', u32(0), u32(this.sampleEpoch));
    return this.sampleEpoch;
  }

  /** The samples waiting in the ring buffer, as raw struct drop_sample records. */
  takeSamples(): Promise<Buffer[]> {
    return this.object.consumeRing('drop_samples');
  }

  /** Samples refused by the budget, by budget slot, and those lost to a full ring buffer. */
  async sampleRefusals(): Promise<{ refused: Map<number, number>; lost: number }> {
    return decodeSampleRefused(await this.object.readMap('sample_refused'));
  }

  programInfo() {
    return this.object.programInfo(this.programName);
  }

  close(): void {
    this.hooks?.close();
    this.object.detach();
    this.object.close();
  }
}

/** Whether samples can be taken as asked: `on`, `off`, or why not. */
function sampleState(binding: NativeBinding, samples: DropProgramOptions['samples']): string {
  if (!samples || samples.perSecond <= 0) return 'off';
  if (!binding.mapTypeSupported('ringbuf')) return 'this kernel has no BPF ring buffer (Linux 5.8 and later have one)';
  return 'on';
}

function u32(value: number): Buffer {
  const b = Buffer.alloc(4);
  b.writeUInt32LE(value);
  return b;
}

function describeFailure(err: unknown, hook: Hook): string {
  if (!isBpfError(err)) return (err as Error).message;
  let text = err.message;
  if (hook === 'tracepoint' && err.step === 'attach' && err.code === 'ENOENT') {
    text += ' (is tracefs mounted at /sys/kernel/tracing?)';
  }
  if (err.code === 'EPERM' || err.code === 'EACCES') {
    text += ' (the kernel refused: check capabilities, lockdown and kernel.unprivileged_bpf_disabled)';
  }
  const lastLog = err.libbpfLog.split('\n').filter(Boolean).slice(-3).join(' | ');
  return lastLog ? `${text} [libbpf: ${lastLog}]` : text;
}
