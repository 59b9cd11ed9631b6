import { chmod, lstat, mkdir } from 'node:fs/promises';
import { PullwrightError } from '../../src/errors.js';

/**
 * Creates (or checks) a folder only this process's user controls, mode 0700: the same
 * rules as worker/workspace/runs-location.ts applies to RUNS_DIR. The egress root's
 * default lives in `/tmp`, writable by every local user: without this check another
 * account could create the folder first, or a symlink in its place, and then replace a
 * sandbox's egress socket with its own (seeing or steering every request the sandbox
 * makes) or read the sockets of every job. A folder that is a symlink, is not a
 * directory, belongs to someone else or is writable by others is refused, not repaired;
 * one of ours that others can merely read or enter is tightened to 0700 (the sandbox
 * reaches its own subfolder through a bind mount, never through this path).
 */
export async function ensurePrivateDir(path: string, what: string): Promise<void> {
  // EEXIST: a file (or a dangling symlink) is already there; lstat below says which.
  await mkdir(path, { recursive: true, mode: 0o700 }).catch((err: NodeJS.ErrnoException) => {
    if (err.code !== 'EEXIST') throw err;
  });
  const info = await lstat(path);
  const uid = process.getuid?.();
  const problem = info.isSymbolicLink()
    ? 'is a symbolic link'
    : !info.isDirectory()
      ? 'is not a directory'
      : uid !== undefined && info.uid !== uid
        ? `belongs to uid ${info.uid}, not this process (uid ${uid})`
        : (info.mode & 0o022) !== 0
          ? 'is writable by other users'
          : null;
  if (problem) {
    throw new PullwrightError('config_invalid', `The ${what} ${path} ${problem}; refusing to use it.`, {
      retryable: false,
      details: { path },
    });
  }
  if ((info.mode & 0o077) !== 0) await chmod(path, 0o700);
}
