/**
 * Keeps one kind of Kubernetes object in sync: the client's ListWatch (list, then watch
 * from the list's resourceVersion; a 410 Gone relists), fed slim records instead of the
 * API's objects, and restarted with exponential backoff after any other failure, since
 * ListWatch stops for good on those.
 */
import type { KubeConfig, KubernetesListObject, ListWatch, Watch } from '@kubernetes/client-node';

import type { Logger } from '../../service/logger.js';
import { k8sClient, type ListPage } from './kube.js';
import type { RecordMeta } from './records.js';

/** Objects per list request: a large cluster is listed in pages, as client-go's informers do. */
export const LIST_PAGE_SIZE = 500;

export interface Backoff {
  /** First wait after a failure. */
  initialMs: number;
  /** Longest wait; each failure in a row doubles the wait up to this. */
  maxMs: number;
  /** 0..1; the wait is scaled by 0.8 + 0.4 x random() so that many agents do not retry in step. */
  random: () => number;
}

export const DEFAULT_BACKOFF: Backoff = { initialMs: 1_000, maxMs: 30_000, random: Math.random };

export interface WatcherOptions<T extends { metadata: RecordMeta }> {
  /** For logs: pods, replicasets, jobs. */
  resource: string;
  /** The watch path, e.g. /api/v1/pods. */
  path: string;
  /** One page of the list, with the same selectors as the watch. */
  list(page: { limit: number; _continue?: string }): Promise<ListPage>;
  toRecord(raw: unknown): T;
  fieldSelector?: string;
  labelSelector?: string;
  onAdd(record: T): void;
  onUpdate(record: T): void;
  onDelete(record: T): void;
  logger: Logger;
  backoff?: Backoff;
}

/** A Watch that hands ListWatch slim records instead of the API's objects. */
function recordWatch<T>(config: KubeConfig, toRecord: (raw: unknown) => T): Watch {
  // Defined here, not at the top: the client library loads only when a watch starts.
  class RecordWatch extends k8sClient().Watch {
    override watch(
      path: string,
      queryParams: Record<string, string | number | boolean | undefined>,
      callback: (phase: string, apiObj: unknown, watchObj?: unknown) => void,
      done: (err: unknown) => void,
    ): Promise<AbortController> {
      return super.watch(
        path,
        queryParams,
        (phase, obj: unknown) => {
          const object = phase === 'ADDED' || phase === 'MODIFIED' || phase === 'DELETED' ? toRecord(obj) : obj;
          callback(phase, object);
        },
        done,
      );
    }
  }
  return new RecordWatch(config);
}

export class Watcher<T extends { metadata: RecordMeta }> {
  private readonly informer: ListWatch<T>;
  private readonly backoff: Backoff;
  private stopped = true;
  private failures = 0;
  private retry: NodeJS.Timeout | undefined;
  private listedSinceStart = false;
  private resolveSynced!: () => void;
  /** Settles once the first list has been applied. */
  readonly synced: Promise<void>;
  private hasSynced = false;
  private resolveFirstAttempt!: () => void;
  /** Settles once the first list has been applied or has failed. */
  readonly firstAttempt: Promise<void>;
  /** The last failure, for a start-up that waits for the first list. */
  lastError: string | undefined;
  private changeCount = 0;

  constructor(
    config: KubeConfig,
    private readonly options: WatcherOptions<T>,
  ) {
    this.backoff = options.backoff ?? DEFAULT_BACKOFF;
    this.synced = new Promise((resolve) => (this.resolveSynced = resolve));
    this.firstAttempt = new Promise((resolve) => (this.resolveFirstAttempt = resolve));
    const watch = recordWatch(config, options.toRecord);
    this.informer = new (k8sClient().ListWatch)<T>(
      options.path,
      watch,
      () => this.listAll(),
      false,
      options.labelSelector,
      options.fieldSelector,
    );
    this.informer.on('add', (o) => this.received(() => options.onAdd(o)));
    this.informer.on('update', (o) => this.received(() => options.onUpdate(o)));
    this.informer.on('delete', (o) => this.received(() => options.onDelete(o)));
    this.informer.on('error', (err) => this.failed(err));
  }

  /** Starts in the background; `synced` tells when the first list is in. */
  start(): void {
    if (!this.stopped) return;
    this.stopped = false;
    this.run();
  }

  async stop(): Promise<void> {
    this.stopped = true;
    clearTimeout(this.retry);
    this.retry = undefined;
    await this.informer.stop();
  }

  /** A ReplicaSet or Job by namespace and name, from ListWatch's own store of records. */
  get(namespace: string, name: string): T | undefined {
    return this.informer.get(name, namespace);
  }

  get resource(): string {
    return this.options.resource;
  }

  /** Whether the first list has been applied. */
  get isSynced(): boolean {
    return this.hasSynced;
  }

  /** Events received so far (adds, updates and deletes): it changes whenever the store does. */
  get changes(): number {
    return this.changeCount;
  }

  private run(): void {
    this.listedSinceStart = false;
    const failuresBefore = this.failures;
    this.informer.start().then(
      () => {
        this.resolveFirstAttempt();
        // ListWatch.stop() cannot abort a watch request still waiting for its response:
        // stop again once it has one.
        if (this.stopped) return void this.informer.stop();
        if (this.listedSinceStart && !this.hasSynced) {
          this.hasSynced = true;
          this.resolveSynced();
        }
        // Connected without a failure: the next failure starts the backoff again.
        if (this.failures === failuresBefore && this.failures > 0) {
          this.options.logger.info('watching again', { resource: this.options.resource });
          this.failures = 0;
        }
      },
      (err: unknown) => {
        this.resolveFirstAttempt();
        this.failed(err);
      },
    );
  }

  private received(apply: () => void): void {
    this.changeCount++;
    try {
      apply();
    } catch (err) {
      this.options.logger.error('cannot apply a watch event', {
        resource: this.options.resource,
        error: (err as Error).message,
      });
    }
  }

  /** Lists every page; ListWatch diffs the result against what it had. */
  private async listAll(): Promise<KubernetesListObject<T>> {
    const items: T[] = [];
    let resourceVersion: string | undefined;
    let next: string | undefined;
    do {
      const page = await this.options.list({ limit: LIST_PAGE_SIZE, _continue: next });
      for (const raw of page.items) items.push(this.options.toRecord(raw));
      resourceVersion = page.metadata?.resourceVersion ?? resourceVersion;
      next = page.metadata?._continue || undefined;
    } while (next);
    this.listedSinceStart = true;
    this.options.logger.debug('listed', { resource: this.options.resource, count: items.length, resourceVersion });
    return { metadata: { resourceVersion }, items };
  }

  private failed(err: unknown): void {
    if (this.stopped || this.retry) return;
    this.failures++;
    const base = Math.min(this.backoff.maxMs, this.backoff.initialMs * 2 ** Math.min(this.failures - 1, 30));
    const wait = Math.round(base * (0.8 + 0.4 * this.backoff.random()));
    this.lastError = describeError(err);
    // The first failure in a row is a warning; the retries that follow are details.
    this.options.logger[this.failures === 1 ? 'warn' : 'debug']('watch failed; restarting', {
      resource: this.options.resource,
      error: this.lastError,
      attempt: this.failures,
      retry_in: `${wait}ms`,
    });
    this.retry = setTimeout(() => {
      this.retry = undefined;
      if (!this.stopped) this.run();
    }, wait);
    this.retry.unref();
  }
}

/** One line from whatever the client threw: an HTTP status with the API's message, or a network error. */
export function describeError(err: unknown): string {
  const e = err as {
    code?: unknown;
    statusCode?: unknown;
    body?: unknown;
    message?: string;
    cause?: { code?: string; message?: string };
  };
  const status = typeof e.code === 'number' ? e.code : typeof e.statusCode === 'number' ? e.statusCode : undefined;
  if (status !== undefined) {
    let message: string | undefined;
    try {
      const body = typeof e.body === 'string' ? (JSON.parse(e.body) as { message?: string }) : e.body;
      message = (body as { message?: string } | undefined)?.message;
    } catch {
      message = undefined;
    }
    return `HTTP ${status}${message ? `: ${message}` : e.message && !e.message.startsWith('HTTP-Code') ? `: ${e.message}` : ''}`;
  }
  const cause = e.cause?.code ?? e.cause?.message;
  const message = e.message ?? String(err);
  return cause && !message.includes(cause) ? `${message} (${cause})` : message;
}
