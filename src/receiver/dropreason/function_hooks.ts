/**
 * Retina's function hooks (NAT and conntrack drops, connect and accept failures), each
 * attached at run time by the first strategy this kernel allows: fexit, else a kprobe
 * pair, else reported unavailable. Each attempt loads only that hook's programs, sharing
 * the counting maps of the main object, so a hook the kernel refuses costs nothing else.
 */
import fs from 'node:fs';
import path from 'node:path';

import type { BpfObjectHandle, NativeBinding } from '../../native/binding.js';
import type { Logger } from '../../service/logger.js';
import { HOOK_REASONS, type HookedFunction, type HookStrategy } from './hook_reasons.js';

export type FunctionHooksChoice = 'auto' | HookStrategy | 'none';

export interface FunctionHook extends HookedFunction {
  /** The reason it reports. */
  reason: string;
}

/** Every hooked function with its reason: those every kernel uses first, then those only older kernels need. */
export const FUNCTION_HOOKS: readonly FunctionHook[] = HOOK_REASONS.flatMap((r) =>
  r.hooks.map((hook) => ({ ...hook, reason: r.name })),
).sort((a, b) => Number(a.onlyWithoutReasons ?? false) - Number(b.onlyWithoutReasons ?? false));

/** Maps the hook programs write, shared with the main object. */
const SHARED_MAPS = [
  'reason_array',
  'metrics_map',
  'overflow_map',
  'refine_map',
  'entry_args',
  // Not used by the hooks: shared so that their objects make no ring buffer of their own.
  'drop_samples',
  'sample_budget',
  'sample_epoch',
  'sample_refused',
];

export interface HookStatus {
  fn: string;
  reason: string;
  strategy: HookStrategy | 'unavailable' | 'not needed';
  /** Why each strategy tried failed, when unavailable. */
  detail?: string;
}

export interface AttachOptions {
  objectPath: string;
  btfPath?: string | undefined;
  /** The value of filter_netns_ino, the same as the main object's. */
  netnsInode: number;
  choice: FunctionHooksChoice;
  /** Whether the kfree_skb tracepoint gives reasons on this kernel (5.17+). */
  kernelHasReasons: boolean;
  /** How often to look for a module a hook waits for (default 10 s). */
  moduleCheckMs?: number;
  /** Where loaded modules appear (default /sys/module). */
  moduleDir?: string;
}

/** Attempts at a hook once its module is loaded, before it is left unavailable. */
const ATTEMPTS_AFTER_MODULE = 3;

interface PendingHook {
  hook: FunctionHook;
  status: HookStatus;
  attempts: number;
}

export class FunctionHooks {
  private readonly objects: BpfObjectHandle[] = [];
  readonly status: HookStatus[] = [];
  /** Hooks whose module was not loaded when they were tried: retried when it is. */
  private readonly pending: PendingHook[] = [];
  private timer: NodeJS.Timeout | undefined;
  private checking = false;
  private closed = false;

  private constructor(
    private readonly binding: NativeBinding,
    private readonly main: BpfObjectHandle,
    private readonly opts: AttachOptions,
    private readonly log: Logger,
  ) {}

  static async attach(
    binding: NativeBinding,
    main: BpfObjectHandle,
    opts: AttachOptions,
    log: Logger,
  ): Promise<FunctionHooks> {
    const hooks = new FunctionHooks(binding, main, opts, log);
    for (const hook of FUNCTION_HOOKS) {
      if (hook.onlyWithoutReasons && opts.kernelHasReasons) {
        hooks.status.push({ fn: hook.fn, reason: hook.reason, strategy: 'not needed' });
        continue;
      }
      const status: HookStatus = { fn: hook.fn, reason: hook.reason, strategy: 'unavailable' };
      hooks.status.push(status);
      if (await hooks.tryAttach(hook, status)) continue;
      if (hook.module && hooks.strategies().length && !hooks.moduleLoaded(hook.module)) {
        // A node starts using NAT or conntrack later: attach when the module appears.
        status.detail = `module ${hook.module} is not loaded; attaching when it is (${status.detail})`;
        hooks.pending.push({ hook, status, attempts: 0 });
        log.info('function hook waits for its module', { function: hook.fn, reason: hook.reason, module: hook.module });
      } else {
        log.info('function hook unavailable', { function: hook.fn, reason: hook.reason, tried: status.detail });
      }
    }
    if (hooks.pending.length) {
      hooks.timer = setInterval(() => void hooks.checkModules(), opts.moduleCheckMs ?? 10_000);
      hooks.timer.unref();
    }
    return hooks;
  }

  private strategies(): HookStrategy[] {
    const choice = this.opts.choice;
    return choice === 'auto' ? ['fexit', 'kprobe'] : choice === 'none' ? [] : [choice];
  }

  private moduleLoaded(module: string): boolean {
    return fs.existsSync(path.join(this.opts.moduleDir ?? '/sys/module', module));
  }

  /** Attaches the first strategy that works; records the outcome in `status`. */
  private async tryAttach(hook: FunctionHook, status: HookStatus): Promise<boolean> {
    const strategies = this.strategies();
    const failures: string[] = [];
    for (const strategy of strategies) {
      try {
        const object = await attachOne(this.binding, this.main, this.opts, hook.programs[strategy]);
        if (this.closed) {
          closeObject(object);
          return false;
        }
        this.objects.push(object);
        status.strategy = strategy;
        delete status.detail;
        this.log.info('function hook attached', { function: hook.fn, reason: hook.reason, strategy });
        return true;
      } catch (err) {
        failures.push(`${strategy}: ${(err as Error).message}`);
      }
    }
    status.detail = strategies.length ? failures.join('; ') : 'function_hooks is none';
    return false;
  }

  private async checkModules(): Promise<void> {
    if (this.checking || this.closed) return;
    this.checking = true;
    try {
      for (const entry of [...this.pending]) {
        if (!this.moduleLoaded(entry.hook.module!)) continue;
        entry.attempts++;
        const attached = await this.tryAttach(entry.hook, entry.status);
        if (this.closed) return;
        if (attached || entry.attempts >= ATTEMPTS_AFTER_MODULE) {
          this.pending.splice(this.pending.indexOf(entry), 1);
          if (!attached) {
            this.log.warn('function hook unavailable', {
              function: entry.hook.fn,
              reason: entry.hook.reason,
              tried: entry.status.detail,
            });
          }
        }
      }
      if (!this.pending.length) clearInterval(this.timer);
    } finally {
      this.checking = false;
    }
  }

  close(): void {
    this.closed = true;
    clearInterval(this.timer);
    for (const o of this.objects.splice(0)) closeObject(o);
  }
}

function closeObject(object: BpfObjectHandle): void {
  object.detach();
  object.close();
}

async function attachOne(
  binding: NativeBinding,
  main: BpfObjectHandle,
  opts: AttachOptions,
  programs: string[],
): Promise<BpfObjectHandle> {
  const object = new binding.BpfObject(opts.objectPath, opts.btfPath);
  try {
    for (const p of object.programs()) object.setAutoload(p.name, programs.includes(p.name));
    const netns = Buffer.alloc(4);
    netns.writeUInt32LE(opts.netnsInode);
    object.setConstant('filter_netns_ino', netns);
    for (const map of SHARED_MAPS) object.reuseMap(map, main);
    await object.load();
    for (const p of programs) await object.attach(p);
    return object;
  } catch (err) {
    object.close();
    throw err;
  }
}
