/**
 * The pods the processor knows, by address and by uid: a lookup is one Map get, whatever
 * the number of pods. A deleted pod stays known for a grace period, so the data counted
 * just before it went away is still named; a new pod that takes its address wins at once.
 */
import type { PodRecord } from './records.js';

export class PodCache {
  private readonly byAddress = new Map<string, PodRecord>();
  private readonly byUid = new Map<string, PodRecord>();
  /** Deleted pods in the order they were deleted; `head` is the first not yet forgotten. */
  private deleted: PodRecord[] = [];
  private head = 0;

  constructor(
    private readonly graceMs: number,
    private readonly now: () => number = Date.now,
  ) {}

  /** The pod that owns an address (canonical form, see canonicalAddress), deleted ones in grace included. */
  get(address: string): PodRecord | undefined {
    return this.byAddress.get(address);
  }

  /** Pods known, deleted ones in grace included. */
  get size(): number {
    return this.byUid.size;
  }

  /** A pod was added or changed. */
  upsert(pod: PodRecord): void {
    const old = this.byUid.get(pod.uid);
    if (old) {
      for (const ip of old.ips) if (!pod.ips.includes(ip) && this.byAddress.get(ip) === old) this.byAddress.delete(ip);
    }
    this.byUid.set(pod.uid, pod);
    for (const ip of pod.ips) this.claim(ip, pod);
  }

  /**
   * An address goes to the newest pod that has it, except that a finished pod (Succeeded
   * or Failed keep their address in status) never takes it from a running one.
   */
  private claim(ip: string, pod: PodRecord): void {
    const current = this.byAddress.get(ip);
    if (
      current &&
      current.uid !== pod.uid &&
      pod.terminated &&
      !current.terminated &&
      current.deletedAt === undefined
    ) {
      return;
    }
    this.byAddress.set(ip, pod);
  }

  /** A pod was deleted: it is forgotten after the grace period. */
  delete(pod: PodRecord): void {
    const known = this.byUid.get(pod.uid);
    if (!known || known.deletedAt !== undefined) return;
    known.deletedAt = this.now();
    if (this.graceMs === 0) this.forget(known);
    else this.deleted.push(known);
  }

  /** Forgets the deleted pods whose grace period is over; returns how many. */
  sweep(): number {
    const cutoff = this.now() - this.graceMs;
    let forgotten = 0;
    while (this.head < this.deleted.length && this.deleted[this.head]!.deletedAt! <= cutoff) {
      this.forget(this.deleted[this.head++]!);
      forgotten++;
    }
    if (this.head > 1024 && this.head * 2 > this.deleted.length) {
      this.deleted = this.deleted.slice(this.head);
      this.head = 0;
    }
    return forgotten;
  }

  private forget(pod: PodRecord): void {
    // The pod may have come back (a relist that found it again) as a newer record.
    if (this.byUid.get(pod.uid) === pod) this.byUid.delete(pod.uid);
    for (const ip of pod.ips) if (this.byAddress.get(ip) === pod) this.byAddress.delete(ip);
  }

  clear(): void {
    this.byAddress.clear();
    this.byUid.clear();
    this.deleted = [];
    this.head = 0;
  }
}
