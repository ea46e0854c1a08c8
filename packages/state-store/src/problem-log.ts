/** Problems of one kind counted, with the first few examples: a growth over millions of keys reports each kind once. */
export class ProblemLog {
  private readonly kinds = new Map<string, { count: number; examples: string[] }>();

  constructor(private readonly examplesPerKind = 5) {}

  add(kind: string, example: string): void {
    let entry = this.kinds.get(kind);
    if (entry === undefined) this.kinds.set(kind, (entry = { count: 0, examples: [] }));
    entry.count++;
    if (entry.examples.length < this.examplesPerKind) entry.examples.push(example);
  }

  get size(): number {
    return this.kinds.size;
  }

  /** One line per kind: the count, what it is, and the examples. */
  lines(): string[] {
    return [...this.kinds].map(([kind, { count, examples }]) => `${count} × ${kind} (e.g. ${examples.map((example) => JSON.stringify(example)).join(", ")})`);
  }
}
