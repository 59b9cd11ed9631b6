import type { RunEvent } from '../../src/runs/run-event.js';

/**
 * The retained entries of one run under the per-run byte cap: the first half of
 * the cap keeps the run's beginning (task, plan, first steps), the rest a sliding
 * tail, and what falls out of the middle is dropped oldest first. Entries a
 * reader needs whatever the run's length (the task, verification, blocked hosts,
 * the diff, delivery, the outcome and the latest plan) are never dropped.
 */
export interface BufferedEntry {
  event: RunEvent;
  bytes: number;
  /** Set once the entry is in the live stream. */
  streamId?: string;
  dropped?: boolean;
}

const PINNED: ReadonlySet<RunEvent['t']> = new Set([
  'started',
  'verify',
  'blocked',
  'diff',
  'delivered',
  'outcome',
]);

export class RecordBuffer {
  readonly entries: BufferedEntry[] = [];
  private bytes = 0;
  private headBytes = 0;
  private headClosed = false;
  /** Index of the first entry after the head: where the middle starts being dropped. */
  private headEnd = 0;
  omitted = 0;

  constructor(private readonly maxBytes: number) {}

  get totalBytes(): number {
    return this.bytes;
  }

  /** Adds an entry; returns the entries the cap let go of to make room. */
  add(event: RunEvent): BufferedEntry[] {
    const entry: BufferedEntry = { event, bytes: Buffer.byteLength(JSON.stringify(event)) };
    this.entries.push(entry);
    this.bytes += entry.bytes;
    if (!this.headClosed) {
      if (this.headBytes + entry.bytes <= this.maxBytes / 2) {
        this.headBytes += entry.bytes;
        this.headEnd = this.entries.length;
      } else this.headClosed = true;
    }
    return this.shrink();
  }

  private shrink(): BufferedEntry[] {
    const dropped: BufferedEntry[] = [];
    if (this.bytes <= this.maxBytes) return dropped;
    const latestPlan = this.entries.findLast((e) => e.event.t === 'plan');
    let i = this.headEnd;
    while (this.bytes > this.maxBytes && i < this.entries.length - 1) {
      const entry = this.entries[i] as BufferedEntry;
      if (PINNED.has(entry.event.t) || entry === latestPlan) {
        i += 1;
        continue;
      }
      this.entries.splice(i, 1);
      this.bytes -= entry.bytes;
      entry.dropped = true;
      this.omitted += 1;
      dropped.push(entry);
    }
    return dropped;
  }

  events(): RunEvent[] {
    return this.entries.map((e) => e.event);
  }
}
