/**
 * The addon's map operations on the real kernel, checked against what bpftool reads from
 * the same map: deleting keys in a batch, with some of the keys already gone.
 */
import { execFileSync } from 'node:child_process';
import { describe, expect, it } from 'vitest';

import { type BpfObjectHandle, loadBinding } from '../../src/native/binding.js';
import { ADV_KEY_SIZE, METRICS_VALUE_SIZE } from '../../src/receiver/dropreason/abi.js';
import { DEFAULT_OBJECT_PATH } from '../../src/receiver/dropreason/drop_program.js';
import { isRoot } from './harness/agent.js';

if (!isRoot) console.log('skipping map operation tests: they need root to load eBPF');

const MAP = 'adv_map_0';
/** Loaded (not attached) to find the map's id: the classic tracepoint's program loads on every kernel. */
const PROGRAM = 'dr_kfree_skb_tp';

/** A flow key told apart by its first four bytes. */
function key(n: number): Buffer {
  const k = Buffer.alloc(ADV_KEY_SIZE);
  k.writeUInt32LE(n, 0);
  return k;
}

/** What bpftool says, as JSON. */
function bpftool<T>(...args: Array<string | number>): T {
  return JSON.parse(execFileSync('bpftool', [...args.map(String), '-j'], { encoding: 'utf8' })) as T;
}

/** The first four bytes of each key bpftool finds in the map, sorted. */
function keysInKernel(mapId: number): number[] {
  const dump = bpftool<Array<{ key: string[] }> | undefined>('map', 'dump', 'id', mapId);
  return (dump ?? [])
    .map((e) => Buffer.from(e.key.slice(0, 4).map((b) => Number(b))).readUInt32LE(0))
    .sort((a, b) => a - b);
}

/** The id of `name` among the maps of the loaded program `program`. */
function mapId(object: BpfObjectHandle, program: string, name: string): number {
  const id = object.programInfo(program)?.id;
  const prog = bpftool<{ map_ids: number[] }>('prog', 'show', 'id', String(id));
  for (const m of prog.map_ids) if (bpftool<{ name: string }>('map', 'show', 'id', m).name === name) return m;
  throw new Error(`program ${program} (id ${id}) uses no map ${name}: ${prog.map_ids.join(', ')}`);
}

describe.skipIf(!isRoot)('map operations', () => {
  it('deletes keys in a batch, skipping keys that are gone, and says how many it deleted', async () => {
    const object = new (loadBinding().BpfObject)(DEFAULT_OBJECT_PATH);
    try {
      for (const p of object.programs()) object.setAutoload(p.name, p.name === PROGRAM);
      await object.load();
      const id = mapId(object, PROGRAM, MAP);
      const value = Buffer.alloc(METRICS_VALUE_SIZE, 1);
      for (let n = 1; n <= 100; n++) object.updateElem(MAP, key(n), value);
      expect(keysInKernel(id)).toHaveLength(100);

      // Keys 1..50, with keys never written before the first, among them and last.
      const absent = [1000, 1001, 1002, 1003];
      const batch = [absent[0]!, ...Array.from({ length: 25 }, (_, i) => i + 1), absent[1]!, absent[2]!];
      batch.push(...Array.from({ length: 25 }, (_, i) => i + 26), absent[3]!);
      expect(await object.deleteKeys(MAP, Buffer.concat(batch.map(key)), batch.length)).toBe(50);
      expect(keysInKernel(id)).toEqual(Array.from({ length: 50 }, (_, i) => i + 51));

      // Every key again: only the 50 left are deleted.
      const all = Array.from({ length: 100 }, (_, i) => key(i + 1));
      expect(await object.deleteKeys(MAP, Buffer.concat(all), all.length)).toBe(50);
      expect(keysInKernel(id)).toEqual([]);
    } finally {
      object.close();
    }
  });
});
