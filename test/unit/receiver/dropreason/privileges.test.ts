import { describe, expect, it } from 'vitest';

import {
  effectiveCapabilities,
  kernelAtLeast,
  kernelVersion,
  missingCapabilities,
} from '../../../../src/receiver/dropreason/privileges.js';

/** A /proc/self/status excerpt with the given CapEff (CapPrm deliberately different). */
const status = (capEff: string) =>
  [
    'Name:\tnode',
    'Umask:\t0022',
    'State:\tS (sleeping)',
    'Uid:\t0\t0\t0\t0',
    'CapInh:\t0000000000000000',
    'CapPrm:\t000001ffffffffff',
    `CapEff:\t${capEff}`,
    'CapBnd:\t000001ffffffffff',
    'CapAmb:\t0000000000000000',
    'NoNewPrivs:\t0',
  ].join('\n') + '\n';

// Bit numbers from linux/capability.h: CAP_NET_ADMIN 12, CAP_SYS_ADMIN 21, CAP_PERFMON 38, CAP_BPF 39.
const ROOT = '000001ffffffffff'; // bits 0..40
const NONE = '0000000000000000';
const BPF_ONLY = '0000008000000000'; // 1 << 39
const BPF_PERFMON = '000000c000000000'; // (1 << 39) | (1 << 38)
const PERFMON_NET_ADMIN = '0000004000001000'; // (1 << 38) | (1 << 12)
const SYS_ADMIN_ONLY = '0000000000200000'; // 1 << 21

const ADVICE =
  ': loading the eBPF drop counter needs CAP_BPF and CAP_PERFMON (or CAP_SYS_ADMIN on kernels before 5.8); ' +
  'run as root or grant them, e.g. setcap cap_bpf,cap_perfmon+ep';

describe('effectiveCapabilities', () => {
  it('reads the CapEff line as a bit set', () => {
    expect(effectiveCapabilities(status(ROOT))).toBe(0x1ff_ffff_ffffn);
    expect(effectiveCapabilities(status(BPF_ONLY))).toBe(1n << 39n);
    expect(effectiveCapabilities(status('000001fffeffffff'))).toBe(0x1ff_ffff_ffffn - (1n << 24n));
  });
  it('is empty when the line is missing', () => {
    expect(effectiveCapabilities('Name:\tnode\n')).toBe(0n);
  });
  it('reads this process without throwing', () => {
    expect(typeof effectiveCapabilities()).toBe('bigint');
  });
});

describe('missingCapabilities', () => {
  it.each([
    ['root', ROOT],
    ['CAP_BPF and CAP_PERFMON', BPF_PERFMON],
    ['CAP_SYS_ADMIN alone', SYS_ADMIN_ONLY],
  ])('finds nothing missing with %s', (_, caps) => {
    expect(missingCapabilities(effectiveCapabilities(status(caps)))).toBeUndefined();
  });

  it('names both when there are no capabilities', () => {
    expect(missingCapabilities(effectiveCapabilities(status(NONE)))).toBe(
      `missing capability CAP_BPF and CAP_PERFMON${ADVICE}`,
    );
  });
  it('names CAP_PERFMON when only CAP_BPF is there', () => {
    expect(missingCapabilities(effectiveCapabilities(status(BPF_ONLY)))).toBe(
      `missing capability CAP_PERFMON${ADVICE}`,
    );
  });
  it('names CAP_BPF when CAP_PERFMON and CAP_NET_ADMIN are there', () => {
    expect(missingCapabilities(effectiveCapabilities(status(PERFMON_NET_ADMIN)))).toBe(
      `missing capability CAP_BPF${ADVICE}`,
    );
  });
});

describe('kernelVersion', () => {
  it.each([
    ['6.18.44-fc-v657\n', [6, 18]],
    ['5.4.0-150-generic', [5, 4]],
    ['6.1.0-28-amd64', [6, 1]],
    ['4.19.0', [4, 19]],
    ['5.17', [5, 17]],
    ['not a release', [0, 0]],
    ['', [0, 0]],
  ])('reads %j as %j', (release, version) => {
    expect(kernelVersion(release)).toEqual(version);
  });

  it('compares major then minor', () => {
    expect(kernelAtLeast([5, 11], 5, 11)).toBe(true);
    expect(kernelAtLeast([5, 10], 5, 11)).toBe(false);
    expect(kernelAtLeast([6, 0], 5, 11)).toBe(true);
    expect(kernelAtLeast([4, 19], 5, 8)).toBe(false);
    expect(kernelAtLeast([5, 17], 5, 8)).toBe(true);
  });
});
