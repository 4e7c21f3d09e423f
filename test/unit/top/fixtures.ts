/** ResourceMetrics as the receiver pushes them, built by hand for the top tests. */
import type { Attributes } from '@opentelemetry/api';
import { resourceFromAttributes } from '@opentelemetry/resources';
import {
  AggregationTemporality,
  DataPointType,
  type MetricData,
  type ResourceMetrics,
} from '@opentelemetry/sdk-metrics';

/** [attributes, value] per data point, all ending at `endMs`. */
export function sum(name: string, points: Array<[Attributes, number]>, endMs = 1_000_000): MetricData {
  const end: [number, number] = [Math.floor(endMs / 1000), (endMs % 1000) * 1e6];
  return {
    descriptor: { name, description: name, unit: '', valueType: 1 },
    aggregationTemporality: AggregationTemporality.CUMULATIVE,
    dataPointType: DataPointType.SUM,
    isMonotonic: true,
    dataPoints: points.map(([attributes, value]) => ({ attributes, startTime: [0, 0], endTime: end, value })),
  };
}

export function resourceMetrics(resource: Attributes, metrics: MetricData[]): ResourceMetrics {
  return { resource: resourceFromAttributes(resource), scopeMetrics: [{ scope: { name: 'dropreason' }, metrics }] };
}

/** What a push of the receiver in advanced mode looks like, after the k8sattributes processor. */
export function advancedPush(endMs = 1_000_000): ResourceMetrics[] {
  const node = { 'service.name': 'dropreason', 'host.name': 'node-1' };
  return [
    resourceMetrics(node, [
      sum(
        'dropreason.drop.count',
        [
          [{ reason: 'NO_SOCKET', direction: 'ingress' }, 42],
          [{ reason: 'TCP_CONNECT_BASIC', direction: 'egress', error: 'ENETUNREACH' }, 3],
          [{ reason: 'TCP_CONNECT_BASIC', direction: 'egress', error: 'EINVAL' }, 2],
        ],
        endMs,
      ),
      sum(
        'dropreason.drop.bytes',
        [
          [{ reason: 'NO_SOCKET', direction: 'ingress' }, 2520],
          [{ reason: 'TCP_CONNECT_BASIC', direction: 'egress', error: 'ENETUNREACH' }, 0],
          [{ reason: 'TCP_CONNECT_BASIC', direction: 'egress', error: 'EINVAL' }, 0],
        ],
        endMs,
      ),
    ]),
    resourceMetrics({ ...node, 'k8s.pod.ip': '10.0.0.7', 'k8s.pod.name': 'web-1', 'k8s.namespace.name': 'shop' }, [
      sum(
        'dropreason.pod.drop.count',
        [
          [{ reason: 'NO_SOCKET', direction: 'ingress', 'peer.address': '10.0.0.9', 'network.transport': 'udp' }, 30],
          [{ reason: 'NO_SOCKET', direction: 'ingress', 'peer.address': '10.0.0.8', 'network.transport': 'udp' }, 10],
        ],
        endMs,
      ),
      sum(
        'dropreason.pod.drop.bytes',
        [
          [{ reason: 'NO_SOCKET', direction: 'ingress', 'peer.address': '10.0.0.9', 'network.transport': 'udp' }, 1800],
          [{ reason: 'NO_SOCKET', direction: 'ingress', 'peer.address': '10.0.0.8', 'network.transport': 'udp' }, 600],
        ],
        endMs,
      ),
    ]),
    resourceMetrics({ ...node, 'k8s.pod.ip': '10.0.0.12' }, [
      sum('dropreason.pod.drop.count', [[{ reason: 'NO_SOCKET', direction: 'ingress' }, 2]], endMs),
      sum('dropreason.pod.drop.bytes', [[{ reason: 'NO_SOCKET', direction: 'ingress' }, 120]], endMs),
    ]),
    // Drops with no IP header belong to the node's resource.
    resourceMetrics(node, [sum('dropreason.pod.drop.count', [[{ reason: 'OTHER', direction: 'unknown' }, 5]], endMs)]),
  ];
}
