/** The refresh loop with a scripted source, on a fake terminal and on a pipe. */
import { describe, expect, it } from 'vitest';

import { type TopOptions, parseTopArgs } from '../../../src/top/options.js';
import { ANSI } from '../../../src/top/screen.js';
import type { Refresh, Source } from '../../../src/top/source.js';
import { runTop } from '../../../src/top/top.js';

/** Gives its refreshes one after another, each on a timer, as a real source does. */
class ScriptedSource implements Source {
  readonly label = 'scripted';
  stopped = false;
  private timer: NodeJS.Timeout | undefined;
  constructor(private readonly refreshes: Refresh[]) {}
  async start(onRefresh: (r: Refresh) => void): Promise<void> {
    const next = (i: number) => {
      const r = this.refreshes[i];
      if (!r || this.stopped) return;
      onRefresh(r);
      this.timer = setTimeout(() => next(i + 1), 1);
    };
    next(0);
  }
  async stop(): Promise<void> {
    this.stopped = true;
    clearTimeout(this.timer);
  }
}

const snapshot = (at: number, packets: number): Refresh => ({
  snapshot: { at, drops: [{ reason: 'NO_SOCKET', direction: 'ingress', packets, bytes: packets * 10 }], pods: [] },
});

function io(tty: boolean) {
  const out: string[] = [];
  const err: string[] = [];
  return {
    out,
    err,
    io: {
      out: { write: (t: string) => out.push(t), isTTY: tty, rows: 24, columns: 80 },
      err: (t: string) => err.push(t),
      onQuit: () => () => {},
      onResize: () => () => {},
    },
  };
}

const opts = (args: string[]): TopOptions => parseTopArgs(args);

describe('runTop', () => {
  it('prints one plain table after another when not on a terminal, and stops after --count', async () => {
    const source = new ScriptedSource([snapshot(1000, 10), snapshot(2000, 15), snapshot(3000, 25), snapshot(4000, 99)]);
    const t = io(false);
    expect(await runTop(opts(['--count', '3']), source, t.io)).toBe(0);
    expect(source.stopped).toBe(true);
    const text = t.out.join('');
    expect(text).not.toContain('\x1b');
    const screens = text.split(/\n(?=dropreason top:)/);
    expect(screens).toHaveLength(3);
    expect(screens[2]).toContain('NO_SOCKET  ingress      10.0       25');
    expect(text).not.toContain(' 99 ');
  });

  it('redraws in place on a terminal and gives the cursor back', async () => {
    const t = io(true);
    await runTop(opts(['--count', '2']), new ScriptedSource([snapshot(1000, 10), snapshot(2000, 15)]), t.io);
    expect(t.out[0]!.startsWith(ANSI.hideCursor + ANSI.clearScreen + ANSI.home)).toBe(true);
    expect(t.out[1]!.startsWith(ANSI.home + 'dropreason top:')).toBe(true);
    expect(t.out[1]).toContain('5.0');
    expect(t.out[1]).toContain('q or Ctrl-C to quit');
    expect(t.out[1]!.endsWith(ANSI.clearBelow)).toBe(true);
    expect(t.out.at(-1)).toBe(ANSI.showCursor + '\n');
  });

  it('reports a failed refresh on stderr when not on a terminal, and exits 1 if the last one failed', async () => {
    const t = io(false);
    const failed: Refresh = { error: 'cannot read http://x/metrics: ECONNREFUSED; retrying every 1s' };
    expect(await runTop(opts(['--count', '2']), new ScriptedSource([failed, failed]), t.io)).toBe(1);
    expect(t.err).toEqual([
      'dropreason: cannot read http://x/metrics: ECONNREFUSED; retrying every 1s\n',
      'dropreason: cannot read http://x/metrics: ECONNREFUSED; retrying every 1s\n',
    ]);
    expect(t.out).toEqual([]);
    const t2 = io(false);
    expect(await runTop(opts(['--count', '2']), new ScriptedSource([failed, snapshot(1, 1)]), t2.io)).toBe(0);
  });

  it('keeps the counts on a terminal with the error above them', async () => {
    const t = io(true);
    const failed: Refresh = { error: 'cannot read http://x/metrics: ECONNREFUSED; retrying every 1s' };
    await runTop(opts(['--count', '2']), new ScriptedSource([snapshot(1000, 10), failed]), t.io);
    expect(t.out[1]).toContain('cannot read http://x/metrics: ECONNREFUSED');
    expect(t.out[1]).toContain('NO_SOCKET');
  });

  it('stops when asked to quit', async () => {
    const t = io(false);
    let quit = () => {};
    const source = new ScriptedSource(Array.from({ length: 1000 }, (_, i) => snapshot(i * 1000, i)));
    const running = runTop(opts([]), source, {
      ...t.io,
      onQuit: (stop) => {
        quit = stop;
        return () => {};
      },
    });
    await new Promise((resolve) => setTimeout(resolve, 20));
    quit();
    expect(await running).toBe(0);
    expect(source.stopped).toBe(true);
  });

  it('passes on a source that cannot start, after stopping it', async () => {
    const t = io(true);
    const source: Source = {
      label: 'broken',
      start: async () => {
        throw new Error('receivers.dropreason: missing capability CAP_BPF');
      },
      stop: async () => {},
    };
    await expect(runTop(opts([]), source, t.io)).rejects.toThrow('missing capability CAP_BPF');
    expect(t.out).toEqual([]);
  });
});
