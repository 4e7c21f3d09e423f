/**
 * The `dropreason top` loop: each refresh from the source becomes a view (rates against
 * the previous one) and a screen, until --count refreshes, q, Ctrl-C or SIGTERM.
 */
import type { TopOptions } from './options.js';
import { render } from './render.js';
import { type Output, Screen } from './screen.js';
import type { Snapshot } from './snapshot.js';
import type { Refresh, Source } from './source.js';
import { type View, buildView } from './view.js';

export interface TopIo {
  out: Output;
  /** Where a failed refresh is reported when out is not a terminal. */
  err: (text: string) => void;
  /**
   * Calls stop when the person asks to quit; returns a function that stops listening.
   * Default: SIGINT, SIGTERM, and q on a terminal.
   */
  onQuit?: (stop: () => void) => () => void;
  /** Calls redraw when the terminal changes size; returns a function that stops listening. */
  onResize?: (redraw: () => void) => () => void;
}

/** Exit status: 0, or 1 when --count ran out on a refresh that failed. */
export async function runTop(opts: TopOptions, source: Source, io: TopIo): Promise<number> {
  const screen = new Screen(io.out);
  let previous: Snapshot | undefined;
  let view: View | undefined;
  let note: string | undefined;
  let lastFailed = false;
  let refreshes = 0;
  let done = false;
  let finish: (code: number) => void = () => {};
  const finished = new Promise<number>((resolve) => (finish = resolve));
  const stop = (code: number) => {
    if (done) return;
    done = true;
    finish(code);
  };

  const draw = () => {
    const { rows, columns } = screen.size();
    screen.draw(
      render(view, {
        source: source.label,
        intervalMs: opts.intervalMs,
        advanced: opts.advanced,
        rows,
        columns,
        note,
        footer: screen.tty ? 'q or Ctrl-C to quit' : undefined,
      }),
    );
  };

  const onRefresh = (r: Refresh) => {
    if (done) return;
    if ('error' in r) {
      lastFailed = true;
      note = r.error;
      // On a terminal the last counts stay on screen with the error above them.
      if (screen.tty) draw();
      else io.err(`dropreason: ${r.error}\n`);
    } else {
      lastFailed = false;
      view = buildView(r.snapshot, previous);
      previous = r.snapshot;
      note = r.note;
      draw();
    }
    refreshes++;
    if (opts.count !== undefined && refreshes >= opts.count) stop(lastFailed ? 1 : 0);
  };

  const unlisten = [(io.onQuit ?? onQuitDefault)(() => stop(0))];
  if (screen.tty) unlisten.push((io.onResize ?? onResizeDefault)(() => view && draw()));
  try {
    await source.start(onRefresh);
    return await finished;
  } finally {
    for (const u of unlisten) u();
    await source.stop();
    screen.close();
  }
}

function onQuitDefault(stop: () => void): () => void {
  process.on('SIGINT', stop);
  process.on('SIGTERM', stop);
  const stdin = process.stdin;
  // Raw mode turns Ctrl-C into a key, so it is handled here as well as q.
  const raw = stdin.isTTY && process.stdout.isTTY;
  const onKey = (key: Buffer) => {
    if (key.includes(0x71 /* q */) || key.includes(0x03 /* Ctrl-C */)) stop();
  };
  if (raw) {
    stdin.setRawMode(true);
    stdin.on('data', onKey);
    stdin.resume();
  }
  return () => {
    process.off('SIGINT', stop);
    process.off('SIGTERM', stop);
    if (raw) {
      stdin.off('data', onKey);
      stdin.setRawMode(false);
      stdin.pause();
    }
  };
}

function onResizeDefault(redraw: () => void): () => void {
  process.stdout.on('resize', redraw);
  return () => process.stdout.off('resize', redraw);
}
