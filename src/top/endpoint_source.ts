/**
 * `dropreason top --endpoint URL`: scrapes a running agent's Prometheus endpoint every
 * interval. Rates come from successive scrapes, so it needs no privileges. An endpoint
 * that cannot be read is reported each time and tried again at the next interval.
 */
import { formatDuration } from '../service/duration.js';
import { onlyOtherMetrics, snapshotFromText } from './prometheus_text.js';
import type { Refresh, Source } from './source.js';

export type Fetch = (url: string, init: { signal: AbortSignal }) => Promise<Response>;

/** Why a fetch failed, in a few words: the socket error code when there is one. */
export function fetchFailure(err: unknown): string {
  const e = err as Error & { cause?: { code?: string; message?: string } };
  if (e.name === 'TimeoutError') return 'no answer in time';
  return e.cause?.code ?? e.cause?.message ?? e.message;
}

export class EndpointSource implements Source {
  readonly label: string;
  private timer: NodeJS.Timeout | undefined;
  private stopped = false;

  constructor(
    private readonly url: string,
    private readonly intervalMs: number,
    private readonly fetchFn: Fetch = fetch,
  ) {
    this.label = url;
  }

  /** One scrape, turned into a refresh. */
  async scrape(): Promise<Refresh> {
    const retry = `retrying every ${formatDuration(this.intervalMs)}`;
    // A slow endpoint must not hold up the next refresh for long.
    const signal = AbortSignal.timeout(Math.min(Math.max(this.intervalMs, 1000), 10_000));
    let text: string;
    try {
      const res = await this.fetchFn(this.url, { signal });
      if (!res.ok) return { error: `cannot read ${this.url}: HTTP ${res.status}; ${retry}` };
      text = await res.text();
    } catch (err) {
      return { error: `cannot read ${this.url}: ${fetchFailure(err)}; ${retry}` };
    }
    const snapshot = snapshotFromText(text, Date.now());
    const note = onlyOtherMetrics(text)
      ? `no dropreason metrics at ${this.url}: is it a dropreason agent's Prometheus endpoint?`
      : undefined;
    return { snapshot, note };
  }

  async start(onRefresh: (r: Refresh) => void): Promise<void> {
    this.stopped = false;
    const tick = async () => {
      const started = Date.now();
      const refresh = await this.scrape();
      if (this.stopped) return;
      onRefresh(refresh);
      if (this.stopped) return;
      // Keep the cadence: the next scrape is one interval after this one began.
      this.timer = setTimeout(() => void tick(), Math.max(0, this.intervalMs - (Date.now() - started)));
    };
    await tick();
  }

  async stop(): Promise<void> {
    this.stopped = true;
    if (this.timer) clearTimeout(this.timer);
    this.timer = undefined;
  }
}
