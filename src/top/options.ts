/** The command line of `dropreason top`, checked before anything is loaded or fetched. */
import { parseArgs } from 'node:util';

import { parseDuration } from '../service/duration.js';

export interface TopOptions {
  advanced: boolean;
  intervalMs: number;
  /** Exit after this many refreshes; undefined runs until interrupted. */
  count: number | undefined;
  /** A running agent's Prometheus endpoint; undefined runs a receiver in this process. */
  endpoint: string | undefined;
  netns: string | undefined;
  kubeconfig: string | undefined;
  help: boolean;
}

export const DEFAULT_INTERVAL_MS = 1000;
/** The receiver's own lower bound on collection_interval. */
const MIN_INTERVAL_MS = 100;

export class UsageError extends Error {}

export const TOP_HELP = `Usage:
  dropreason top [--advanced] [--netns PATH] [--kubeconfig FILE] [--interval DURATION] [--count N]
  dropreason top --endpoint URL [--advanced] [--interval DURATION] [--count N]

Shows the node's packet drops live: by reason and direction, and with --advanced by pod,
fastest first, refreshed in place. Without --endpoint it loads its own eBPF drop counter
(no agent needs to be running; root, or CAP_BPF and CAP_PERFMON). With --endpoint it reads
a running agent's Prometheus endpoint and needs no privileges.

Options:
  -a, --advanced         also show drops by pod: its local address, or namespace/name when known
  -i, --interval DUR     refresh every DUR, e.g. 1s, 500ms, 2 (seconds); default 1s, at least 100ms
  -n, --count N          exit after N refreshes (default: run until Ctrl-C)
  -e, --endpoint URL     read this agent endpoint, e.g. http://127.0.0.1:9464/metrics
                         (host:port alone means http://host:port/metrics)
      --netns PATH       count only drops in this network namespace, e.g. /run/netns/NAME
      --kubeconfig FILE  with --advanced: name pods through the Kubernetes API (the pods of
                         the node in $K8S_NODE_NAME or $NODE_NAME when set, else all pods)
  -h, --help             show this help

When standard output is not a terminal it prints one table after another instead.
`;

function interval(text: string): number {
  // A bare number is seconds, as in top -d.
  const ms = /^\d+(\.\d+)?$/.test(text) ? Number(text) * 1000 : parseDuration(text);
  if (ms === undefined) throw new UsageError(`--interval must be a duration such as 1s or 500ms, but was '${text}'`);
  if (ms < MIN_INTERVAL_MS) throw new UsageError(`--interval must be at least 100ms, but was '${text}'`);
  return ms;
}

function count(text: string): number {
  if (!/^\d+$/.test(text) || Number(text) < 1) {
    throw new UsageError(`--count must be a whole number of refreshes, 1 or more, but was '${text}'`);
  }
  return Number(text);
}

/** The URL to scrape: a scheme and the /metrics path are added when left out. */
export function endpointUrl(text: string): string {
  const withScheme = /^[a-z][a-z0-9+.-]*:\/\//i.test(text) ? text : `http://${text}`;
  let url: URL;
  try {
    url = new URL(withScheme);
  } catch {
    throw new UsageError(`--endpoint must be a URL such as http://127.0.0.1:9464/metrics, but was '${text}'`);
  }
  if (url.protocol !== 'http:' && url.protocol !== 'https:') {
    throw new UsageError(`--endpoint must be an http or https URL, but was '${text}'`);
  }
  if (url.pathname === '/' && !withScheme.endsWith('/')) url.pathname = '/metrics';
  return url.toString();
}

export function parseTopArgs(argv: string[]): TopOptions {
  let parsed;
  try {
    parsed = parseArgs({
      args: argv,
      allowPositionals: false,
      options: {
        advanced: { type: 'boolean', short: 'a' },
        interval: { type: 'string', short: 'i' },
        count: { type: 'string', short: 'n' },
        endpoint: { type: 'string', short: 'e' },
        netns: { type: 'string' },
        kubeconfig: { type: 'string' },
        help: { type: 'boolean', short: 'h' },
      },
    });
  } catch (err) {
    throw new UsageError((err as Error).message);
  }
  const v = parsed.values;
  const options: TopOptions = {
    advanced: v.advanced ?? false,
    intervalMs: v.interval === undefined ? DEFAULT_INTERVAL_MS : interval(v.interval),
    count: v.count === undefined ? undefined : count(v.count),
    endpoint: v.endpoint === undefined ? undefined : endpointUrl(v.endpoint),
    netns: v.netns,
    kubeconfig: v.kubeconfig,
    help: v.help ?? false,
  };
  if (options.endpoint !== undefined && options.netns !== undefined) {
    throw new UsageError(
      '--netns applies to the counter this command loads itself, not to --endpoint (set netns in the agent config)',
    );
  }
  if (options.endpoint !== undefined && options.kubeconfig !== undefined) {
    throw new UsageError('--kubeconfig applies to the counter this command loads itself, not to --endpoint');
  }
  if (options.kubeconfig !== undefined && !options.advanced) {
    throw new UsageError('--kubeconfig names pods, so it needs --advanced');
  }
  if (options.netns === '' || options.kubeconfig === '') {
    throw new UsageError(`--${options.netns === '' ? 'netns' : 'kubeconfig'} must not be empty`);
  }
  return options;
}
