import { describe, expect, it } from 'vitest';

import { RETINA_NAMES, retinaPodLabels, retinaRemoteLabels } from '../../../src/exporters/prometheus/retina.js';
import { serialize } from '../../../src/translator/prometheus/serializer.js';
import { familyOf, onlyOtherMetrics, parseSamples, snapshotFromText } from '../../../src/top/prometheus_text.js';
import { NO_ADDRESS } from '../../../src/top/snapshot.js';
import { advancedPush } from './fixtures.js';

describe('parseSamples', () => {
  it('reads names, labels with escapes, values and ignores comments and timestamps', () => {
    const text = [
      '# HELP x_total A help line with "quotes".',
      '# TYPE x_total counter',
      'x_total{a="1",b="say \\"hi\\"\\nback\\\\slash"} 12 1700000000000',
      'y 3.5',
      'z{} +Inf',
      '  w{c="x, y"} 1e3  ',
      '',
    ].join('\n');
    expect(parseSamples(text)).toEqual([
      { name: 'x_total', labels: { a: '1', b: 'say "hi"\nback\\slash' }, value: 12 },
      { name: 'y', labels: {}, value: 3.5 },
      { name: 'z', labels: {}, value: Infinity },
      { name: 'w', labels: { c: 'x, y' }, value: 1000 },
    ]);
  });

  it('skips lines it cannot read, and keeps the rest', () => {
    expect(parseSamples('a{b="unterminated} 1\nc{d=e} 2\nf one\ng 4\n')).toEqual([{ name: 'g', labels: {}, value: 4 }]);
  });
});

describe('familyOf', () => {
  it('knows both namings, with or without a namespace prefix', () => {
    expect(familyOf('dropreason_drop_count_total')).toEqual({ pod: false, field: 'packets' });
    expect(familyOf('prod_dropreason_pod_drop_bytes_total')).toEqual({ pod: true, field: 'bytes' });
    expect(familyOf('networkobservability_adv_drop_count')).toEqual({ pod: true, field: 'packets' });
    expect(familyOf('networkobservability_drop_bytes')).toEqual({ pod: false, field: 'bytes' });
    expect(familyOf('dropreason_agent_collections_total')).toBeUndefined();
    expect(familyOf('xdropreason_drop_count_total')).toBeUndefined();
  });
});

describe('snapshotFromText', () => {
  const expected = {
    at: 7,
    drops: [
      { reason: 'NO_SOCKET', direction: 'ingress', packets: 42, bytes: 2520 },
      { reason: 'TCP_CONNECT_BASIC', direction: 'egress', packets: 5, bytes: 0 },
    ],
    pods: [
      { pod: 'shop/web-1', reason: 'NO_SOCKET', direction: 'ingress', packets: 40, bytes: 2400 },
      { pod: '10.0.0.12', reason: 'NO_SOCKET', direction: 'ingress', packets: 2, bytes: 120 },
      { pod: NO_ADDRESS, reason: 'OTHER', direction: 'unknown', packets: 5, bytes: 0 },
    ],
  };

  it('reads what the prometheus exporter serves with otel naming, namespace and const labels', () => {
    const text = serialize(advancedPush(), { namespace: 'prod', constLabels: { cluster: 'c1' } });
    expect(text).toContain('prod_dropreason_pod_drop_count_total{');
    expect(onlyOtherMetrics(text)).toBe(false);
    expect(snapshotFromText(text, 7)).toEqual(expected);
  });

  const gaugeNames = RETINA_NAMES;

  it("reads what it serves with Retina's naming", () => {
    const text = serialize(advancedPush(), { gaugeNames, resourceLabels: retinaPodLabels });
    expect(text).toContain('networkobservability_adv_drop_count{');
    expect(snapshotFromText(text, 7)).toEqual(expected);
  });

  it("reads Retina's remote context: the pod is the destination of ingress drops", () => {
    const text = serialize(advancedPush(), { gaugeNames, labels: retinaRemoteLabels });
    expect(text).toContain('destination_podname="web-1"');
    expect(text).toContain('source_ip="10.0.0.9"');
    expect(snapshotFromText(text, 7)).toEqual(expected);
    const egress =
      'networkobservability_adv_drop_count{direction="egress",reason="X",source_ip="10.0.0.3",source_namespace="a",source_podname="p",destination_ip="10.0.0.4",destination_namespace="",destination_podname=""} 4';
    expect(snapshotFromText(egress, 1).pods).toEqual([
      { pod: 'a/p', reason: 'X', direction: 'egress', packets: 4, bytes: 0 },
    ]);
  });

  it('keeps node series of one reason apart by location, and sums pod series over it', () => {
    const text = [
      'dropreason_drop_count_total{direction="ingress",location="__udp4_lib_rcv",reason="NO_SOCKET"} 5',
      'dropreason_drop_count_total{direction="ingress",location="tcp_v4_rcv",reason="NO_SOCKET"} 3',
      'dropreason_drop_count_total{direction="egress",reason="TCP_CONNECT_BASIC",error="ECONNREFUSED"} 1',
      'dropreason_pod_drop_count_total{direction="ingress",k8s_pod_ip="10.0.0.1",location="__udp4_lib_rcv",reason="NO_SOCKET"} 5',
      'dropreason_pod_drop_count_total{direction="ingress",k8s_pod_ip="10.0.0.1",location="tcp_v4_rcv",reason="NO_SOCKET"} 3',
    ].join('\n');
    expect(snapshotFromText(text, 1)).toEqual({
      at: 1,
      drops: [
        { reason: 'NO_SOCKET', direction: 'ingress', location: '__udp4_lib_rcv', packets: 5, bytes: 0 },
        { reason: 'NO_SOCKET', direction: 'ingress', location: 'tcp_v4_rcv', packets: 3, bytes: 0 },
        { reason: 'TCP_CONNECT_BASIC', direction: 'egress', packets: 1, bytes: 0 },
      ],
      pods: [{ pod: '10.0.0.1', reason: 'NO_SOCKET', direction: 'ingress', packets: 8, bytes: 0 }],
    });
  });

  it('reads fixed text: series of other metrics do not count', () => {
    const text = [
      '# TYPE dropreason_drop_count_total counter',
      'dropreason_drop_count_total{direction="egress",reason="IPTABLE_RULE_DROP"} 137',
      'dropreason_drop_bytes_total{direction="egress",reason="IPTABLE_RULE_DROP"} 17536',
      'dropreason_agent_collections_total{result="ok"} 9',
      'target_info{host_name="n1"} 1',
    ].join('\n');
    expect(snapshotFromText(text, 1)).toEqual({
      at: 1,
      drops: [{ reason: 'IPTABLE_RULE_DROP', direction: 'egress', packets: 137, bytes: 17536 }],
      pods: [],
    });
  });

  it('tells an endpoint of other metrics from one of ours, with or without series', () => {
    expect(onlyOtherMetrics('# TYPE process_cpu_seconds_total counter\nprocess_cpu_seconds_total 3\n')).toBe(true);
    expect(onlyOtherMetrics('# TYPE dropreason_drop_count_total counter\n')).toBe(false);
    expect(onlyOtherMetrics('target_info 1\ndropreason_drop_count_total{reason="A",direction="egress"} 1\n')).toBe(
      false,
    );
    // An agent that has counted nothing yet serves nothing.
    expect(onlyOtherMetrics('')).toBe(false);
  });
});
