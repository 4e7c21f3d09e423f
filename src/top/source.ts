/** What feeds a `dropreason top` screen: the in-process receiver or an agent's endpoint. */
import type { Snapshot } from './snapshot.js';

/** One refresh: the counts (with a remark, if any), or why there are none this time. */
export type Refresh = { snapshot: Snapshot; note?: string | undefined } | { error: string };

export interface Source {
  /** For the title line. */
  readonly label: string;
  /** Begins; onRefresh is then called once per interval until stop(). */
  start(onRefresh: (r: Refresh) => void): Promise<void>;
  stop(): Promise<void>;
}
