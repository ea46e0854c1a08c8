import { formatCount } from "./table.ts";

export interface ProgressState {
  done: number;
  total: number;
  elapsedMs: number;
}

/** "[██████░░░░]  60%  41,795/69,659  8,123 ev/s  5.1s" — the bar drawn in place on a terminal. */
export function formatProgressBar(state: ProgressState, width = 30): string {
  const fraction = state.total === 0 ? 1 : Math.min(1, state.done / state.total);
  const filled = Math.round(fraction * width);
  const bar = "█".repeat(filled) + "░".repeat(width - filled);
  return `[${bar}] ${formatProgressLine(state)}`;
}

/** "60%  41,795/69,659  8,123 ev/s  5.1s" — one line of progress for logs and pipes. */
export function formatProgressLine(state: ProgressState): string {
  const percent = state.total === 0 ? 100 : Math.floor((Math.min(state.done, state.total) / state.total) * 100);
  return `${String(percent).padStart(3)}%  ${formatCount(state.done)}/${formatCount(state.total)}  ${formatCount(Math.round(rate(state)))} ev/s  ${(state.elapsedMs / 1000).toFixed(1)}s`;
}

export function rate(state: ProgressState): number {
  return state.elapsedMs > 0 ? (state.done * 1000) / state.elapsedMs : 0;
}

/** Which tenth (0..10) of the work `done` has reached; a plain-text line is printed each time it grows. */
export function tenthReached(done: number, total: number): number {
  if (total === 0) return 10;
  return Math.min(10, Math.floor((done * 10) / total));
}

/**
 * Progress on stderr: a bar redrawn in place (at most ~10 times a second) when stderr is a
 * terminal; otherwise a line at every 10% so piped logs stay readable.
 */
export class ProgressReporter {
  private readonly startedAt = performance.now();
  private lastDrawAt = -Infinity;
  private lastTenth = 0;
  private done = 0;

  constructor(
    private readonly total: number,
    private readonly stream: NodeJS.WriteStream = process.stderr,
  ) {}

  update(done: number): void {
    this.done = done;
    const state = this.state();
    if (this.stream.isTTY) {
      if (state.elapsedMs - this.lastDrawAt < 100 && done < this.total) return;
      this.lastDrawAt = state.elapsedMs;
      this.stream.write(`\r${formatProgressBar(state)}\x1b[K`);
      return;
    }
    const tenth = tenthReached(done, this.total);
    if (tenth > this.lastTenth) {
      this.lastTenth = tenth;
      this.stream.write(`${formatProgressLine(state)}\n`);
    }
  }

  /** Ends the bar's line so the next output starts on a fresh one. */
  finish(): ProgressState {
    const state = this.state();
    if (this.stream.isTTY) this.stream.write(`\r${formatProgressBar(state)}\x1b[K\n`);
    return state;
  }

  private state(): ProgressState {
    return { done: this.done, total: this.total, elapsedMs: performance.now() - this.startedAt };
  }
}
