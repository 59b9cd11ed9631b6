import { spawn } from 'node:child_process';
import { PullwrightError } from '../../src/errors.js';
import { SAFE_GIT_CONFIG, safeGitEnv } from './git.js';

/**
 * Host git over a tree the agent wrote, under limits. `runGit` (git.ts) buffers all
 * of stdout and only has a 10-minute timer; reading an agent-writable tree needs
 * tighter bounds, because the tree decides how much work git does:
 *
 * - `maxStdoutBytes`: stdout is counted while it streams and git is killed the
 *   moment it passes the cap, so a huge diff never sits in the worker's memory
 *   (before, the whole patch was buffered and only then compared with 5 MiB).
 * - `timeoutMs`: SIGKILL on the whole process group after this long. Stops a file
 *   that is sparse or grows while git reads it (`truncate -s 1T`: git would hash a
 *   terabyte of zeros for hours) and anything else that keeps git busy.
 * - `memoryBytes`: the address-space limit (`ulimit -v`, RLIMIT_AS) git runs under,
 *   set by `/bin/sh` (dash, busybox and bash all have it; no extra package) just
 *   before it execs git. git reads a file below `core.bigFileThreshold` (512 MiB)
 *   whole into memory to hash or diff it, so a file that grew after the size check
 *   could otherwise take the worker host's memory; with the limit, git's allocation
 *   fails and git exits instead. Pack windows are kept small below so the limit
 *   never trips on an ordinary large repository, and glibc's per-thread arenas
 *   (64 MiB of address space each) are capped for the same reason.
 * - `cpuSeconds`: RLIMIT_CPU (`ulimit -t`), a second bound on hashing that holds
 *   even if the worker's event loop is stuck and the timer fires late.
 *
 * The config and environment are runGit's (no system or global config, empty HOME,
 * hooks at /dev/null, no fsmonitor, no credential helper); the caller must have run
 * one `runGit` in this process first so the git home folder was checked private.
 */

export interface LimitedGitOptions {
  cwd: string;
  env?: Record<string, string>;
  okCodes?: number[];
  maxStdoutBytes: number;
  timeoutMs: number;
  memoryBytes: number;
  cpuSeconds: number;
}

export interface LimitedGitResult {
  code: number;
  stdout: Buffer;
}

/** Thrown as `details.limit` when a bound stopped git (callers branch on it). */
export type GitLimit = 'output' | 'time';

/** The safe config of git.ts's runGit, plus small pack windows for the memory limit. */
const LIMITED_CONFIG = [
  ...SAFE_GIT_CONFIG,
  'core.packedGitWindowSize=32m',
  'core.packedGitLimit=256m',
  'core.deltaBaseCacheLimit=32m',
  'pack.threads=1',
].flatMap((c) => ['-c', c]);

/**
 * Lowers (never tries to raise) the soft limits, then execs git. A limit that cannot
 * be set stops the command (exit 125) rather than running git unbounded.
 */
const LIMITED_SHELL = [
  'v=$(ulimit -v); if [ "$v" = unlimited ] || [ "$v" -gt "$1" ]; then ulimit -v "$1" || exit 125; fi',
  't=$(ulimit -t); if [ "$t" = unlimited ] || [ "$t" -gt "$2" ]; then ulimit -t "$2" || exit 125; fi',
  'shift 2',
  'exec git "$@"',
].join('\n');

export function runLimitedGit(args: string[], options: LimitedGitOptions): Promise<LimitedGitResult> {
  const env = safeGitEnv({ MALLOC_ARENA_MAX: '2', ...options.env });
  const kib = String(Math.ceil(options.memoryBytes / 1024));
  const shellArgs = ['-c', LIMITED_SHELL, 'git', kib, String(options.cpuSeconds), ...LIMITED_CONFIG, ...args];
  return new Promise((resolve, reject) => {
    // Its own process group, so the kill reaches git's children (none expected) too.
    const child = spawn('/bin/sh', shellArgs, {
      cwd: options.cwd,
      env,
      stdio: ['ignore', 'pipe', 'pipe'],
      detached: true,
    });
    const out: Buffer[] = [];
    const err: Buffer[] = [];
    let outBytes = 0;
    let errBytes = 0;
    let stopped: GitLimit | null = null;
    const kill = (why: GitLimit) => {
      if (stopped) return;
      stopped = why;
      try {
        if (child.pid) process.kill(-child.pid, 'SIGKILL');
      } catch {
        child.kill('SIGKILL');
      }
    };
    const timer = setTimeout(() => kill('time'), options.timeoutMs);
    child.stdout.on('data', (c: Buffer) => {
      if (stopped) return;
      outBytes += c.length;
      if (outBytes > options.maxStdoutBytes) {
        kill('output');
        out.length = 0;
        return;
      }
      out.push(c);
    });
    child.stderr.on('data', (c: Buffer) => {
      if (errBytes < 16 * 1024) err.push(c);
      errBytes += c.length;
    });
    child.on('error', (e) => {
      clearTimeout(timer);
      reject(new PullwrightError('git_failed', `git could not start: ${e.message}`, { cause: e }));
    });
    child.on('close', (code, signal) => {
      clearTimeout(timer);
      const what = args.find((a) => !a.startsWith('-')) ?? 'command';
      if (stopped) {
        reject(
          new PullwrightError('git_failed', `git ${what} was stopped: over its ${stopped} limit.`, {
            retryable: false,
            details: { limit: stopped, bytes: outBytes },
          }),
        );
        return;
      }
      const exit = code ?? -1;
      if (exit === 0 || options.okCodes?.includes(exit)) {
        resolve({ code: exit, stdout: Buffer.concat(out) });
        return;
      }
      const stderr = Buffer.concat(err).toString('utf8').trim().slice(0, 2000);
      reject(
        new PullwrightError('git_failed', `git ${what} failed (${signal ?? exit}): ${stderr}`, {
          retryable: false,
          details: { args: args.slice(0, 6), code: exit },
        }),
      );
    });
  });
}
