import { constants } from 'node:fs';
import { access, lstat, mkdir, statfs } from 'node:fs/promises';
import { join, resolve } from 'node:path';
import { PullwrightError } from '../../src/errors.js';

/** `statfs` type of tmpfs (TMPFS_MAGIC, linux/magic.h). */
const TMPFS_MAGIC = 0x01021994;
const SHARED_MEMORY = '/dev/shm';

async function isWritableTmpfs(path: string): Promise<boolean> {
  try {
    await access(path, constants.W_OK);
    return (await statfs(path)).type === TMPFS_MAGIC;
  } catch {
    return false;
  }
}

/**
 * Where per-job working copies live. `RUNS_DIR` when set; otherwise memory
 * (`/dev/shm`, a tmpfs on every Linux host) when it is there, else
 * `<WORK_DIR>/runs`.
 *
 * Why memory by default: a working copy lives for one job and is thrown away,
 * so durability buys nothing, while writing thousands of files to disk (and
 * discarding them after) made a job's start slow and erratic: 0.1 to 1.4 s for
 * the same 5,000-file checkout on this project's own VMs, against a steady
 * 0.1 s on tmpfs. tmpfs is also bounded by its size, so a job filling its
 * workspace fills memory that is capped, not the host's disk. The sandbox's
 * own per-job workspace limit still applies on top.
 */
export async function resolveRunsRoot(settings: { RUNS_DIR?: string; WORK_DIR: string }): Promise<string> {
  if (settings.RUNS_DIR) return resolve(settings.RUNS_DIR);
  if (await isWritableTmpfs(SHARED_MEMORY)) return join(SHARED_MEMORY, 'pullwright-runs');
  return join(resolve(settings.WORK_DIR), 'runs');
}

/**
 * Creates (or checks) a folder only this process's user controls. `/dev/shm` is
 * writable by every local user: without this check another account could
 * create the folder first, or a symlink in its place, and read or plant files
 * in every job's working copy. A folder that is a symlink, belongs to someone
 * else or is writable by others is refused, not repaired.
 */
export async function ensurePrivateDir(path: string): Promise<void> {
  await mkdir(path, { recursive: true, mode: 0o700 });
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
    throw new PullwrightError('config_invalid', `The runs folder ${path} ${problem}; refusing to use it.`, {
      retryable: false,
      details: { path },
    });
  }
}
