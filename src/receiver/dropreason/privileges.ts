/**
 * What the process may do, read from /proc/self/status, so a missing capability is named
 * before the kernel answers with a bare EPERM.
 */
import fs from 'node:fs';

export const CAP = { NET_ADMIN: 12, SYS_ADMIN: 21, SYS_RESOURCE: 24, PERFMON: 38, BPF: 39 } as const;

export function effectiveCapabilities(status = fs.readFileSync('/proc/self/status', 'utf8')): bigint {
  const m = /^CapEff:\s*([0-9a-f]+)$/m.exec(status);
  return m ? BigInt(`0x${m[1]}`) : 0n;
}

function has(caps: bigint, cap: number): boolean {
  return ((caps >> BigInt(cap)) & 1n) === 1n;
}

/**
 * Loading tracing programs needs CAP_BPF and CAP_PERFMON (5.8+), or CAP_SYS_ADMIN alone.
 * Returns a one-line explanation of what is missing, or undefined when all is there.
 */
export function missingCapabilities(caps: bigint): string | undefined {
  if (has(caps, CAP.SYS_ADMIN) || (has(caps, CAP.BPF) && has(caps, CAP.PERFMON))) return undefined;
  const missing = ['CAP_BPF', 'CAP_PERFMON'].filter((name) => !has(caps, CAP[name.slice(4) as 'BPF' | 'PERFMON']));
  return (
    `missing capability ${missing.join(' and ')}: loading the eBPF drop counter needs CAP_BPF and CAP_PERFMON ` +
    `(or CAP_SYS_ADMIN on kernels before 5.8); run as root or grant them, e.g. setcap cap_bpf,cap_perfmon+ep`
  );
}

/** Kernel release as [major, minor], e.g. [6, 18]. */
export function kernelVersion(release = fs.readFileSync('/proc/sys/kernel/osrelease', 'utf8')): [number, number] {
  const m = /^(\d+)\.(\d+)/.exec(release.trim());
  return m ? [Number(m[1]), Number(m[2])] : [0, 0];
}

export function kernelAtLeast(version: [number, number], major: number, minor: number): boolean {
  return version[0] > major || (version[0] === major && version[1] >= minor);
}
