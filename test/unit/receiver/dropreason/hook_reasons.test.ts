/** The hook reason table against its ground truth: the BPF sources and the built object. */
import fs from 'node:fs';
import path from 'node:path';
import { describe, expect, it } from 'vitest';

import { loadBinding, packageRoot } from '../../../../src/native/binding.js';
import { DEFAULT_OBJECT_PATH } from '../../../../src/receiver/dropreason/drop_program.js';
import { FUNCTION_HOOKS } from '../../../../src/receiver/dropreason/function_hooks.js';
import { HOOK_REASONS } from '../../../../src/receiver/dropreason/hook_reasons.js';

const header = fs.readFileSync(path.join(packageRoot, 'bpf/dropreason.h'), 'utf8');
const program = fs.readFileSync(path.join(packageRoot, 'bpf/dropreason.bpf.c'), 'utf8');

/** The members of `enum hook_reason` in bpf/dropreason.h, as [name, value]. */
function headerEnum(): Array<[string, number]> {
  const body = /enum hook_reason \{([^}]*)\}/.exec(header)?.[1];
  if (body === undefined) throw new Error('bpf/dropreason.h has no enum hook_reason');
  return [...body.matchAll(/HOOK_(\w+)\s*=\s*(\d+)/g)].map((m) => [m[1]!, Number(m[2])]);
}

/** The hook reasons the BPF program passes to `fn` as an argument. */
function reasonsPassedTo(fn: string): Set<string> {
  return new Set([...program.matchAll(new RegExp(`${fn}\\([^;)]*\\bHOOK_(\\w+)`, 'g'))].map((m) => m[1]!));
}

describe('HOOK_REASONS', () => {
  it('lists enum hook_reason of bpf/dropreason.h, names and values', () => {
    expect(HOOK_REASONS.map((r) => [r.name, r.code])).toEqual(headerEnum());
  });

  it('says how each reason is counted as the BPF program counts it', () => {
    const socketErrors = reasonsPassedTo('count_socket_error');
    const refinements = new Set([...reasonsPassedTo('mark_netfilter_drop'), ...reasonsPassedTo('netfilter_fn_entry')]);
    expect(socketErrors.size).toBeGreaterThan(0);
    expect(refinements.size).toBeGreaterThan(0);
    for (const r of HOOK_REASONS) {
      expect(r.counts, r.name).toBe(socketErrors.has(r.name) ? 'socket error' : 'refines');
      expect(socketErrors.has(r.name) || refinements.has(r.name), r.name).toBe(true);
    }
  });

  it('gives every hooked function once, with its reason', () => {
    const fns = FUNCTION_HOOKS.map((h) => h.fn);
    expect(new Set(fns).size).toBe(fns.length);
    for (const r of HOOK_REASONS) {
      expect(FUNCTION_HOOKS.filter((h) => h.reason === r.name).map((h) => h.fn)).toEqual(r.hooks.map((h) => h.fn));
    }
  });

  const missing = fs.existsSync(DEFAULT_OBJECT_PATH) ? undefined : `${DEFAULT_OBJECT_PATH} is not built`;
  if (missing) console.log(`skipping the program name test: ${missing} (run scripts/setup.sh)`);
  it.skipIf(missing !== undefined)('names programs the built BPF object has', () => {
    const object = new (loadBinding().BpfObject)(DEFAULT_OBJECT_PATH);
    try {
      const names = new Set(object.programs().map((p) => p.name));
      for (const hook of FUNCTION_HOOKS) {
        for (const p of [...hook.programs.fexit, ...hook.programs.kprobe]) expect(names.has(p), p).toBe(true);
      }
    } finally {
      object.close();
    }
  });
});
