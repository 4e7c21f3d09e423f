/**
 * Puts screens on a terminal, redrawn in place with plain ANSI sequences; anywhere else
 * (a pipe, a file) one after another, separated by a blank line.
 */

/** What the screen needs of process.stdout. */
export interface Output {
  write(text: string): unknown;
  isTTY?: boolean;
  rows?: number;
  columns?: number;
}

export const ANSI = {
  home: '\x1b[H',
  clearScreen: '\x1b[2J',
  /** Clear to the end of the line: a shorter line leaves nothing of the longer one before it. */
  clearLine: '\x1b[K',
  /** Clear everything below the cursor. */
  clearBelow: '\x1b[J',
  hideCursor: '\x1b[?25l',
  showCursor: '\x1b[?25h',
} as const;

export class Screen {
  private drawn = false;

  constructor(private readonly out: Output) {}

  get tty(): boolean {
    return this.out.isTTY === true;
  }

  /** The terminal's size, to fit a screen to; undefined when not a terminal. */
  size(): { rows: number | undefined; columns: number | undefined } {
    return this.tty ? { rows: this.out.rows, columns: this.out.columns } : { rows: undefined, columns: undefined };
  }

  draw(lines: string[]): void {
    if (this.tty) {
      const start = this.drawn ? ANSI.home : ANSI.hideCursor + ANSI.clearScreen + ANSI.home;
      this.out.write(start + lines.map((l) => l + ANSI.clearLine).join('\n') + ANSI.clearBelow);
    } else {
      this.out.write((this.drawn ? '\n' : '') + lines.join('\n') + '\n');
    }
    this.drawn = true;
  }

  /** Gives the terminal its cursor back, below the last screen. */
  close(): void {
    if (this.tty && this.drawn) this.out.write(ANSI.showCursor + '\n');
  }
}
