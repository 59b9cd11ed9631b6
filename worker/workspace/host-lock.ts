import { spawn } from 'node:child_process';
import { mkdir } from 'node:fs/promises';
import { dirname } from 'node:path';
import { PullwrightError } from '../../src/errors.js';

/**
 * An exclusive lock shared by every process on the host, held while `fn` runs.
 *
 * Why: worker processes scaled on one host share the repository caches (one
 * bind-mounted work dir), and two of them fetching into the same bare
 * repository at once can collide on git's ref locks, or one can wipe a cache
 * the other is still creating. The lock is `flock(1)` on a file beside the
 * cache: a small `flock … sh -c 'read'` process holds it until its stdin
 * closes, which also happens when this process dies, so a crashed worker never
 * leaves a stale lock behind (unlike a lock file with a pid in it).
 */
export async function withHostLock<T>(
  lockFile: string,
  fn: () => Promise<T>,
  options: { waitSeconds?: number } = {},
): Promise<T> {
  const waitSeconds = options.waitSeconds ?? 15 * 60;
  await mkdir(dirname(lockFile), { recursive: true, mode: 0o700 });
  const holder = spawn(
    'flock',
    ['--exclusive', '--wait', String(waitSeconds), lockFile, 'sh', '-c', 'echo locked; read _'],
    { stdio: ['pipe', 'pipe', 'ignore'], env: { PATH: process.env.PATH ?? '/usr/bin:/bin' } },
  );
  const exited = new Promise<number | null>((resolve) => holder.once('exit', (code) => resolve(code)));
  await new Promise<void>((resolve, reject) => {
    holder.stdout.once('data', () => resolve());
    holder.once('error', (err) =>
      reject(new PullwrightError('internal', `flock could not start: ${err.message}`, { cause: err })),
    );
    void exited.then((code) =>
      reject(
        new PullwrightError('timeout', `Could not lock ${lockFile} within ${waitSeconds} s (flock ${code})`, {
          retryable: true,
        }),
      ),
    );
  });
  try {
    return await fn();
  } finally {
    holder.stdin.end();
    await exited;
  }
}
