/**
 * Timing splits for one run, in renovate's shape: each phase's duration, logged
 * once at the end of every run (`Run timings`), so slow runs can be explained
 * from ordinary logs and the end-to-end benchmark reads the same line instead of
 * hooks of its own. Phases are recorded in order; their sum is the run's length.
 */
export class PhaseTimings {
  readonly startedAt = Date.now();
  private last = this.startedAt;
  private readonly phases: [string, number][] = [];

  /** Records the time since the previous phase ended (or the run started) as `phase`. */
  end(phase: string): void {
    const now = Date.now();
    this.phases.push([phase, now - this.last]);
    this.last = now;
  }

  /** What the `Run timings` log line carries; `phases` keeps the order they ran in. */
  summary(): { startedAt: number; totalMs: number; phases: Record<string, number> } {
    const phases: Record<string, number> = {};
    for (const [name, ms] of this.phases) phases[name] = (phases[name] ?? 0) + ms;
    return { startedAt: this.startedAt, totalMs: this.last - this.startedAt, phases };
  }
}
