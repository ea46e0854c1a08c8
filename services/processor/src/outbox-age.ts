/**
 * How long the oldest stage change in a partition's outbox has waited to be published, as this
 * process knows it. The outbox is a FIFO list in Redis (commits append at the tail, publishes trim
 * the head), so counting what was appended (with the time of each commit) and what was published
 * is enough to know when the head entry was written, without a timestamp in Redis.
 *
 * Entries this process did not write (a former owner's, after a rebalance or a crash) are dated
 * when a drain first sees them: their age is a lower bound. Time is an argument, never read here.
 */
export class OutboxAge {
  /** Ascending: entries with a position below `end` were appended at `at` or earlier. */
  private marks: { end: number; at: number }[] = [];
  /** Position of the tail (entries ever appended) and of the head (entries published). */
  private tail = 0;
  private head = 0;

  /** A commit appended `count` entries at `now`. */
  appended(count: number, now: number): void {
    if (count <= 0) return;
    this.tail += count;
    this.marks.push({ end: this.tail, at: now });
  }

  /** A publish acknowledged and trimmed the `count` oldest entries. */
  published(count: number): void {
    this.head = Math.min(this.tail, this.head + count);
    this.forgetPublished();
  }

  /** The outbox's real length, read from Redis at `now`: reconciles with what others wrote or published. */
  observed(length: number, now: number): void {
    const known = this.tail - this.head;
    if (length === 0) {
      this.marks = [];
      this.head = this.tail;
    } else if (length < known) {
      // Someone else (a former or a new owner) published some of them.
      this.head = this.tail - length;
      this.forgetPublished();
    } else if (length > known) {
      // Older entries this process never saw written (they sit ahead of every known one): dated
      // now, or as old as the oldest known entry if that is older.
      const unknownEnd = this.head;
      this.head = this.tail - length;
      this.marks.unshift({ end: unknownEnd, at: Math.min(now, this.marks[0]?.at ?? now) });
    }
  }

  /** Milliseconds since the oldest unpublished entry was written; 0 when the outbox is empty. */
  oldestAgeMs(now: number): number {
    const oldest = this.marks[0];
    return oldest === undefined ? 0 : Math.max(0, now - oldest.at);
  }

  private forgetPublished(): void {
    while (this.marks.length > 0 && this.marks[0]!.end <= this.head) this.marks.shift();
  }
}
