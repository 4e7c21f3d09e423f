/** Reads metadata.yaml, where the receiver's metrics are defined once. */
import fs from 'node:fs';
import path from 'node:path';
import { parse } from 'yaml';

import { packageRoot } from '../../native/binding.js';

export interface MetricMetadata {
  description: string;
  unit: string;
  attributes: string[];
  prometheus: string;
  retina: string;
}

export interface ReceiverMetadata {
  type: string;
  metrics: Record<string, MetricMetadata>;
}

export const METADATA_PATH = path.join(packageRoot, 'src/receiver/dropreason/metadata.yaml');

let cached: ReceiverMetadata | undefined;

export function metadata(): ReceiverMetadata {
  cached ??= parse(fs.readFileSync(METADATA_PATH, 'utf8')) as ReceiverMetadata;
  return cached;
}

export function metric(name: string): MetricMetadata {
  const m = metadata().metrics[name];
  if (!m) throw new Error(`metric ${name} is not defined in ${METADATA_PATH}`);
  return m;
}
