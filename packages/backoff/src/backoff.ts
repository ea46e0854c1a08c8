/**
 * The pauses between tries of whatever the pipeline retries — a client's request, a ClickHouse
 * write, a Kafka consumer's restart, a schema registry lookup: the first pause, then twice the
 * last one up to a cap, and back to the first after a success. Written by hand because each caller
 * schedules its tries its own way (a loop, a timer, a flush pause a later batch checks) and only
 * needs the pauses; the retry libraries wrap the call itself.
 */
export interface BackoffOptions {
  initialMs: number;
  maxMs: number;
  /**
   * `half`: each pause is drawn uniformly from the upper half of its nominal value, so clients
   * that failed together do not retry together. `none` (default): exactly the nominal value.
   */
  jitter?: "none" | "half";
  /** Uniform in [0, 1); Math.random by default (tests pass their own). */
  random?: () => number;
}

export class Backoff {
  private nominalMs: number;
  private failed = 0;

  constructor(private readonly options: BackoffOptions) {
    if (!(options.initialMs > 0) || !(options.maxMs >= options.initialMs)) throw new RangeError(`backoff: need 0 < initialMs <= maxMs, got ${options.initialMs} and ${options.maxMs}`);
    this.nominalMs = options.initialMs;
  }

  /** The pause before the next try, after one more failure. */
  next(): number {
    const nominal = this.nominalMs;
    this.nominalMs = Math.min(nominal * 2, this.options.maxMs);
    this.failed++;
    if (this.options.jitter !== "half") return nominal;
    return nominal / 2 + (this.options.random ?? Math.random)() * (nominal / 2);
  }

  /** The pause next() would give, without counting a failure. */
  get upcomingMs(): number {
    return this.nominalMs;
  }

  /** Failures since the last success. */
  get failures(): number {
    return this.failed;
  }

  /** After a success: the next failure pauses the first pause again. */
  reset(): void {
    this.nominalMs = this.options.initialMs;
    this.failed = 0;
  }
}
