/** The text of one `dropreason top` screen: a pure function of the view, so it is unit-tested. */
import { formatBytes } from '../exporters/debug/format.js';
import { formatDuration } from '../service/duration.js';
import type { Row, View } from './view.js';

export interface RenderOptions {
  /** Where the counts come from, for the title line. */
  source: string;
  intervalMs: number;
  /** Also show the pod table. */
  advanced: boolean;
  /** Terminal size: tables are cut to fit the rows and lines to the columns. Unset: print all. */
  rows?: number | undefined;
  columns?: number | undefined;
  /** A line under the title, such as why the last refresh failed. */
  note?: string | undefined;
  /** A last line, such as how to quit. */
  footer?: string | undefined;
}

type Align = 'left' | 'right';

function table(header: string[], align: Align[], body: string[][]): string[] {
  const widths = header.map((h, i) => Math.max(h.length, ...body.map((b) => b[i]!.length)));
  const line = (cells: string[]) =>
    cells
      .map((c, i) => (align[i] === 'right' ? c.padStart(widths[i]!) : c.padEnd(widths[i]!)))
      .join('  ')
      .trimEnd();
  return [line(header), ...body.map(line)];
}

export function formatRate(rate: number | undefined): string {
  return rate === undefined ? '-' : rate.toFixed(1);
}

function dropCells(r: Row, withLocation: boolean): string[] {
  const where = withLocation ? [r.location ?? '-'] : [];
  return [r.reason, r.direction, ...where, formatRate(r.rate), String(r.packets), formatBytes(r.bytes)];
}

function podCells(r: Row): string[] {
  return [r.pod ?? '', r.reason, r.direction, formatRate(r.rate), String(r.packets)];
}

/** Rows that fit in `room` lines (header included), with a last line saying how many did not. */
function fit(rows: Row[], room: number | undefined): { shown: Row[]; more: number } {
  if (room === undefined || rows.length + 1 <= room) return { shown: rows, more: 0 };
  const shown = rows.slice(0, Math.max(1, room - 2));
  return { shown, more: rows.length - shown.length };
}

export function render(view: View | undefined, opts: RenderOptions): string[] {
  const at = view ? new Date(view.at).toISOString().replace(/\.\d+Z$/, 'Z') : 'waiting';
  const lines = [`dropreason top: ${opts.source}, every ${formatDuration(opts.intervalMs)}, ${at}`];
  if (view) {
    const t = view.total;
    const now = t.rate === undefined ? '' : `; ${formatRate(t.rate)} packets/s now`;
    lines.push(`dropped: ${t.packets} packets, ${formatBytes(t.bytes)} in total${now}`);
  }
  if (opts.note) lines.push(opts.note);
  const tables: Array<{ rows: Row[]; empty: string; draw: (rows: Row[]) => string[] }> = [];
  if (view) {
    tables.push({
      rows: view.drops,
      empty: 'no drops counted yet',
      // The LOCATION column shows when the agent counts drop locations.
      draw: (rows) => {
        const where = view.drops.some((r) => r.location);
        return table(
          ['REASON', 'DIRECTION', ...(where ? ['LOCATION'] : []), 'RATE/s', 'PACKETS', 'BYTES'],
          ['left', 'left', ...(where ? (['left'] as const) : []), 'right', 'right', 'right'],
          rows.map((r) => dropCells(r, where)),
        );
      },
    });
    if (opts.advanced) {
      tables.push({
        rows: view.pods,
        empty: 'no drops counted by pod yet',
        draw: (rows) =>
          table(
            ['POD', 'REASON', 'DIRECTION', 'RATE/s', 'PACKETS'],
            ['left', 'left', 'left', 'right', 'right'],
            rows.map(podCells),
          ),
      });
    }
  }
  // Room left for the tables: a blank line before each, and the footer.
  let room = opts.rows === undefined ? undefined : opts.rows - lines.length - tables.length - (opts.footer ? 2 : 0);
  tables.forEach((t, i) => {
    lines.push('');
    if (t.rows.length === 0) {
      lines.push(t.empty);
      if (room !== undefined) room -= 1;
      return;
    }
    // Each table may take its share of what is left; the last takes all of it.
    const share = room === undefined ? undefined : Math.max(2, Math.floor(room / (tables.length - i)));
    const { shown, more } = fit(t.rows, share);
    const drawn = t.draw(shown);
    if (more > 0) drawn.push(`... ${more} more`);
    lines.push(...drawn);
    if (room !== undefined) room -= drawn.length;
  });
  if (opts.footer) lines.push('', opts.footer);
  return opts.columns === undefined ? lines : lines.map((l) => l.slice(0, opts.columns));
}
