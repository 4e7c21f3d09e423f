/**
 * The batch processor's settings, with the Collector's keys and defaults. The dropreason
 * receiver is pulled, not pushed: each collection hands over every series at once, so a
 * collection is already one batch and nothing waits for more; only send_batch_max_size
 * changes what goes on (it splits a large collection).
 */
import { checked, duration, integer, join, list, object, type Parsed, string } from '../../service/schema.js';

const fields = {
  /**
   * @default 200ms
   */
  timeout: duration({
    default: 200,
    maxMs: 3600_000,
    description:
      'Accepted for compatibility, no effect: in the Collector, how long a batch waits to fill. Each collection of the dropreason receiver is already complete when handed over, so nothing waits.',
  }),
  /**
   * @default 8192
   */
  send_batch_size: integer({
    default: 8192,
    min: 0,
    description:
      'Accepted for compatibility, no effect: in the Collector, the size that sends a batch before the timeout. A collection is sent as soon as it is made, whatever its size.',
  }),
  /**
   * @default 0
   */
  send_batch_max_size: integer({
    default: 0,
    min: 0,
    description:
      'The most data points sent on at once: a larger collection is split into parts of at most this many (e.g. to keep OTLP requests under a backend limit). 0: no limit.',
  }),
  metadata_keys: list(string(), {
    default: [],
    description:
      'Must be empty here: in the Collector, batches are kept apart by these client metadata keys (headers of incoming requests); the dropreason receiver reads the kernel, so there are no requests.',
  }),
  /**
   * @default 1000
   */
  metadata_cardinality_limit: integer({
    default: 1000,
    min: 0,
    description: 'Accepted for compatibility, no effect: the number of metadata_keys value sets (none here).',
  }),
};

export const configSchema = checked(
  object(fields, {
    description:
      "Accepted so the Collector's examples run. The dropreason receiver is pulled: each collection hands over every series at once, so it is one batch already and nothing is held back; send_batch_max_size splits a large collection.",
  }),
  (c, path, issues) => {
    if (c.send_batch_max_size !== 0 && c.send_batch_max_size < c.send_batch_size) {
      issues.push({
        path: join(path, 'send_batch_max_size'),
        message: `must be 0 or at least send_batch_size (${c.send_batch_size}), but was ${c.send_batch_max_size}`,
      });
    }
    if (c.metadata_keys.length > 0) {
      issues.push({
        path: join(path, 'metadata_keys'),
        message:
          'must be empty: it keeps batches apart by the metadata (headers) of incoming requests, and the dropreason receiver reads the kernel, not requests',
      });
    }
  },
);
export type BatchConfig = Parsed<typeof fields>;
