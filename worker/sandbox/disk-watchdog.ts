import { execFile } from 'node:child_process';
import type { Logger } from '../../src/logger.js';

const DEFAULT_MEASURE_TIMEOUT_MS = 30_000;

/**
 * Apparent size of `path` in bytes (so a sparse `truncate -s 100G` counts: the patch
 * extraction would read it all), or null when it could not be measured.
 *
 * null is not 0: the watchdog treats it as over the bound (see DiskWatchdog). `du`
 * fails or times out exactly when the workspace is huge or crafted (millions of
 * files, an unreadable folder hiding a big file), so reading a failure as "empty"
 * would switch the bound off for the very workspaces it exists for.
 *
 * One exception keeps ordinary builds running: `du` exits 1 but still prints a total
 * when files vanish during the walk (a build deleting its temp files). Those files no
 * longer take space, so that total stands. Any other complaint (permission denied,
 * a timeout, no output) means the total misses something, so it is not a measurement.
 */
export function measureWorkspaceBytes(
  path: string,
  timeoutMs = DEFAULT_MEASURE_TIMEOUT_MS,
): Promise<number | null> {
  return new Promise((resolvePromise) => {
    execFile(
      'du',
      ['-sx', '--apparent-size', '-B1', path],
      { timeout: timeoutMs, maxBuffer: 1024 * 1024 },
      (err, stdout, stderr) => {
        const n = Number.parseInt(String(stdout).split(/\s/)[0] ?? '', 10);
        if (!Number.isFinite(n) || n < 0) return resolvePromise(null);
        if (err) {
          const lines = String(stderr)
            .split('\n')
            .filter((l) => l.trim() !== '');
          const onlyVanished = lines.length > 0 && lines.every((l) => /No such file or directory/.test(l));
          if (err.killed || err.signal || !onlyVanished) return resolvePromise(null);
        }
        resolvePromise(n);
      },
    );
  });
}

/** One running command, as the watchdog sees it. */
export interface WatchedCommand {
  /** Workspace size when the command started, if it started over the bound; else 0. */
  startBytes: number;
  /** Set by the watchdog before it calls `kill`. */
  diskLimitExceeded: boolean;
  kill: () => void;
}

export interface DiskWatchdogOptions {
  workspaceHostPath: string;
  /** How much the workspace may grow above its size at creation. */
  limitBytes: number;
  intervalMs: number;
  log: Logger;
  sandboxId: string;
  /** Replaceable for tests; default `measureWorkspaceBytes`. */
  measure?: (path: string) => Promise<number | null>;
}

/**
 * Bounds how much a sandbox's workspace may grow while its commands run. The host
 * measures the bind-mounted folder every `intervalMs` (only while a command runs);
 * past the bound, commands that are still growing it are killed and marked
 * `diskLimitExceeded`. Not a hard quota (loop devices and xfs project quotas are not
 * available here): a writer can overshoot by what it writes in one interval.
 *
 * Fails closed: an unmeasurable workspace counts as over the bound and every running
 * command is killed, since a failed `du` is the signature of the workspace this stops.
 */
export class DiskWatchdog {
  private baseline: Promise<number>;
  private readonly watched = new Set<WatchedCommand>();
  private readonly measure: (path: string) => Promise<number | null>;
  private timer: NodeJS.Timeout | undefined;
  private checking = false;
  /** Whether the last check found the workspace over its bound (or could not tell). */
  private overLimit = false;

  constructor(private readonly options: DiskWatchdogOptions) {
    this.measure = options.measure ?? ((path) => measureWorkspaceBytes(path));
    // An unmeasurable starting size counts as 0: all of the workspace then counts as
    // growth, the strictest reading, rather than an unknown that would disable the bound.
    this.baseline = this.measure(options.workspaceHostPath).then((bytes) => bytes ?? 0);
  }

  /**
   * Measures the starting size again: what the host put into the workspace on purpose
   * (an environment snapshot unpacked before the agent starts) is not the agent's growth.
   */
  async rebaseline(): Promise<void> {
    const bytes = await this.measure(this.options.workspaceHostPath);
    this.baseline = Promise.resolve(bytes ?? 0);
  }

  /**
   * The `startBytes` for a command about to start. Commands started while the workspace
   * is over the bound may run as long as they do not grow it further (so the agent can
   * look around and `rm`); if the size is unknown, they get no such leeway.
   */
  async startBytes(): Promise<number> {
    if (!this.overLimit) return 0;
    return (await this.measure(this.options.workspaceHostPath)) ?? 0;
  }

  add(command: WatchedCommand): void {
    this.watched.add(command);
    this.timer ??= setInterval(() => void this.check(), this.options.intervalMs);
  }

  delete(command: WatchedCommand): void {
    this.watched.delete(command);
    if (this.watched.size === 0) this.stop();
  }

  stop(): void {
    clearInterval(this.timer);
    this.timer = undefined;
  }

  /** One measurement; runs on the timer, public so tests can drive it. */
  async check(): Promise<void> {
    if (this.checking) return;
    this.checking = true;
    try {
      const { workspaceHostPath, limitBytes, log, sandboxId } = this.options;
      const [base, now] = await Promise.all([this.baseline, this.measure(workspaceHostPath)]);
      if (now === null) {
        this.overLimit = true;
        log.warn({ sandboxId }, 'Workspace size could not be measured; killing running commands');
        for (const c of this.watched) this.killFor(c);
        return;
      }
      this.overLimit = now - base > limitBytes;
      if (!this.overLimit) return;
      log.warn(
        { sandboxId, bytes: now, limit: base + limitBytes },
        'Workspace over its size limit; killing running commands',
      );
      for (const c of this.watched) {
        if (now <= c.startBytes) continue;
        this.killFor(c);
      }
    } finally {
      this.checking = false;
    }
  }

  private killFor(command: WatchedCommand): void {
    command.diskLimitExceeded = true;
    command.kill();
  }
}
