/**
 * Retina's function hooks (NAT and conntrack drops, connect and accept failures), each
 * attached at run time by the first strategy this kernel allows: fexit, else a kprobe
 * pair, else reported unavailable. Each attempt loads only that hook's programs, sharing
 * the counting maps of the main object, so a hook the kernel refuses costs nothing else.
 */
import type { BpfObjectHandle, NativeBinding } from '../../native/binding.js';
import type { Logger } from '../../service/logger.js';

export type HookStrategy = 'fexit' | 'kprobe';
export type FunctionHooksChoice = 'auto' | HookStrategy | 'none';

export interface FunctionHook {
  /** The kernel function. */
  fn: string;
  /** The reason it reports. */
  reason: string;
  programs: Record<HookStrategy, string[]>;
  /** Only on kernels whose kfree_skb tracepoint gives no reason (before 5.17). */
  onlyWithoutReasons?: boolean;
}

export const FUNCTION_HOOKS: readonly FunctionHook[] = [
  {
    fn: 'nf_nat_inet_fn',
    reason: 'IPTABLE_NAT_DROP',
    programs: { fexit: ['dr_nat_fexit'], kprobe: ['dr_nat_kprobe', 'dr_nat_kretprobe'] },
  },
  {
    fn: '__nf_conntrack_confirm',
    reason: 'CONNTRACK_ADD_DROP',
    programs: { fexit: ['dr_ct_confirm_fexit'], kprobe: ['dr_ct_confirm_kprobe', 'dr_ct_confirm_kretprobe'] },
  },
  {
    fn: 'tcp_v4_connect',
    reason: 'TCP_CONNECT_BASIC',
    programs: { fexit: ['dr_connect4_fexit'], kprobe: ['dr_connect4_kprobe', 'dr_connect4_kretprobe'] },
  },
  {
    fn: 'tcp_v6_connect',
    reason: 'TCP_CONNECT_BASIC',
    programs: { fexit: ['dr_connect6_fexit'], kprobe: ['dr_connect6_kprobe', 'dr_connect6_kretprobe'] },
  },
  {
    fn: 'inet_csk_accept',
    reason: 'TCP_ACCEPT_BASIC',
    programs: { fexit: ['dr_accept_fexit'], kprobe: ['dr_accept_kprobe', 'dr_accept_kretprobe'] },
  },
  {
    fn: 'nf_hook_slow',
    reason: 'IPTABLE_RULE_DROP',
    programs: {
      fexit: ['dr_nf_hook_fentry', 'dr_nf_hook_fexit'],
      kprobe: ['dr_nf_hook_kprobe', 'dr_nf_hook_kretprobe'],
    },
    onlyWithoutReasons: true,
  },
];

/** Maps the hook programs write, shared with the main object. */
const SHARED_MAPS = ['reason_array', 'metrics_map', 'overflow_map', 'refine_map', 'entry_args'];

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
}

export class FunctionHooks {
  private constructor(
    private readonly objects: BpfObjectHandle[],
    readonly status: HookStatus[],
  ) {}

  static async attach(
    binding: NativeBinding,
    main: BpfObjectHandle,
    opts: AttachOptions,
    log: Logger,
  ): Promise<FunctionHooks> {
    const strategies: HookStrategy[] =
      opts.choice === 'auto' ? ['fexit', 'kprobe'] : opts.choice === 'none' ? [] : [opts.choice];
    const objects: BpfObjectHandle[] = [];
    const status: HookStatus[] = [];
    for (const hook of FUNCTION_HOOKS) {
      if (hook.onlyWithoutReasons && opts.kernelHasReasons) {
        status.push({ fn: hook.fn, reason: hook.reason, strategy: 'not needed' });
        continue;
      }
      const failures: string[] = [];
      let attached: HookStrategy | undefined;
      for (const strategy of strategies) {
        try {
          objects.push(await attachOne(binding, main, opts, hook.programs[strategy]));
          attached = strategy;
          break;
        } catch (err) {
          failures.push(`${strategy}: ${(err as Error).message}`);
        }
      }
      if (attached) {
        status.push({ fn: hook.fn, reason: hook.reason, strategy: attached });
        log.info('function hook attached', { function: hook.fn, reason: hook.reason, strategy: attached });
      } else {
        const detail = strategies.length ? failures.join('; ') : 'function_hooks is none';
        status.push({ fn: hook.fn, reason: hook.reason, strategy: 'unavailable', detail });
        log.info('function hook unavailable', { function: hook.fn, reason: hook.reason, tried: detail });
      }
    }
    return new FunctionHooks(objects, status);
  }

  close(): void {
    for (const o of this.objects.splice(0)) {
      o.detach();
      o.close();
    }
  }
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
