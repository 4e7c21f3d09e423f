/**
 * Reads the drop series out of a dropreason agent's Prometheus endpoint, in either naming
 * (`naming: otel` or `naming: retina`) and with or without a `namespace` prefix.
 */
import { RETINA_NAMES, RETINA_UNKNOWN } from '../exporters/prometheus/retina.js';
import { derivedName } from '../translator/prometheus/serializer.js';
import { metadata } from '../receiver/dropreason/metadata.generated.js';
import {
  dropRow,
  type DropSeries,
  FIELDS,
  type PodSeries,
  type Snapshot,
  SeriesSet,
  dropKey,
  podKey,
  podName,
} from './snapshot.js';

export interface Sample {
  name: string;
  labels: Record<string, string>;
  value: number;
}

/**
 * The samples of a text exposition (format 0.0.4). Comments are skipped; a line that
 * cannot be read is skipped too, so one odd series does not hide the others.
 */
export function parseSamples(text: string): Sample[] {
  const out: Sample[] = [];
  for (const raw of text.split('\n')) {
    const line = raw.trim();
    if (line === '' || line.startsWith('#')) continue;
    const sample = parseLine(line);
    if (sample) out.push(sample);
  }
  return out;
}

function parseLine(line: string): Sample | undefined {
  const name = /^[a-zA-Z_:][a-zA-Z0-9_:]*/.exec(line)?.[0];
  if (!name) return undefined;
  let pos = name.length;
  const labels: Record<string, string> = {};
  if (line[pos] === '{') {
    pos++;
    for (;;) {
      while (line[pos] === ' ' || line[pos] === ',') pos++;
      if (line[pos] === '}') {
        pos++;
        break;
      }
      const label = /^[a-zA-Z_][a-zA-Z0-9_]*/.exec(line.slice(pos))?.[0];
      if (!label) return undefined;
      pos += label.length;
      while (line[pos] === ' ') pos++;
      if (line[pos] !== '=' || line[pos + 1] !== '"') return undefined;
      pos += 2;
      let value = '';
      for (;;) {
        const c = line[pos++];
        if (c === undefined) return undefined;
        if (c === '"') break;
        if (c === '\\') {
          const e = line[pos++];
          value += e === 'n' ? '\n' : (e ?? '');
        } else {
          value += c;
        }
      }
      labels[label] = value;
    }
  }
  // The value, then an optional timestamp.
  const fields = line.slice(pos).trim().split(/\s+/);
  const value = parseValue(fields[0] ?? '');
  if (value === undefined) return undefined;
  return { name, labels, value };
}

function parseValue(text: string): number | undefined {
  if (text === '+Inf') return Infinity;
  if (text === '-Inf') return -Infinity;
  if (text === 'NaN') return NaN;
  if (text === '') return undefined;
  const v = Number(text);
  return Number.isNaN(v) ? undefined : v;
}

type Family = { pod: boolean; field: 'packets' | 'bytes' };

/**
 * Our metric names in both namings, as the prometheus exporter serves them: derived from
 * the OTel names (otel), or Retina's (retina). The endpoint may add a `namespace_` prefix.
 */
const FAMILIES: Readonly<Record<string, Family>> = Object.fromEntries(
  Object.entries(FIELDS).flatMap(([name, family]) => {
    const counter = metadata.metrics[name as keyof typeof metadata.metrics].sum.monotonic;
    const retina = RETINA_NAMES.get(name);
    return [[derivedName(name, counter), family], ...(retina ? [[retina, family]] : [])];
  }),
);

export function familyOf(name: string): Family | undefined {
  for (const [base, family] of Object.entries(FAMILIES)) {
    if (name === base || name.endsWith(`_${base}`)) return family;
  }
  return undefined;
}

/**
 * Whether the text holds metrics, but none of ours: the endpoint of something else, such
 * as the agent's own metrics. An agent that has counted no drop yet serves nothing at all.
 */
export function onlyOtherMetrics(text: string): boolean {
  const names = [...text.matchAll(/^# TYPE (\S+) /gm)].map((m) => m[1]!);
  names.push(...parseSamples(text).map((s) => s.name));
  return names.length > 0 && !names.some((n) => OURS.some((base) => n === base || n.endsWith(`_${base}`)));
}

/** Every name the receiver's metrics are served under, in either naming (interface drops too). */
const OURS: readonly string[] = Object.entries(metadata.metrics).flatMap(([name, m]) => {
  const retina = RETINA_NAMES.get(name);
  return [derivedName(name, m.sum.monotonic), ...(retina ? [retina] : [])];
});

/**
 * The pod of a pod series. otel naming carries the resource's k8s.* attributes; retina
 * naming its own labels, unprefixed (retina_context local) or as source_* and
 * destination_* (remote), where the pod on the node is the destination of ingress drops
 * and the source of the others; Retina's "unknown" means no pod.
 */
function podOf(l: Record<string, string>, direction: string): string {
  if (l['k8s_pod_ip'] !== undefined || l['k8s_pod_name'] !== undefined) {
    return podName(l['k8s_namespace_name'], l['k8s_pod_name'], l['k8s_pod_ip']);
  }
  const p =
    l['source_ip'] !== undefined || l['destination_ip'] !== undefined
      ? direction === 'ingress'
        ? 'destination_'
        : 'source_'
      : '';
  const known = (v: string | undefined) => (v === RETINA_UNKNOWN ? undefined : v);
  return podName(known(l[`${p}namespace`]), known(l[`${p}podname`]), known(l[`${p}ip`]));
}

/**
 * A snapshot of a scrape: series summed over every label but reason and direction (and
 * the location for node series, the pod for pod series), so const_labels, error and peer
 * labels do not split rows.
 */
export function snapshotFromText(text: string, at: number): Snapshot {
  const drops = new SeriesSet<DropSeries>();
  const pods = new SeriesSet<PodSeries>();
  for (const s of parseSamples(text)) {
    const family = familyOf(s.name);
    if (!family || !Number.isFinite(s.value)) continue;
    const l = s.labels;
    const reason = l['reason'] ?? '';
    const direction = l['direction'] ?? '';
    if (family.pod) {
      const row = { pod: podOf(l, direction), reason, direction };
      pods.add(podKey(row), () => ({ ...row, packets: 0, bytes: 0 }), family.field, s.value);
    } else {
      const row = dropRow(reason, direction, l['location']);
      drops.add(dropKey(row), () => ({ ...row, packets: 0, bytes: 0 }), family.field, s.value);
    }
  }
  return { at, drops: drops.values(), pods: pods.values() };
}
