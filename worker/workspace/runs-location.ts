import { constants } from 'node:fs';
import { access, statfs } from 'node:fs/promises';
import { join, resolve } from 'node:path';
import { ensurePrivateDir as ensurePrivateFolder } from '../sandbox/private-dir.js';

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
 * Creates (or checks) the runs folder: only this process's user may control it.
 * `/dev/shm` is writable by every local user: without this check another account
 * could create the folder first, or a symlink in its place, and read or plant files
 * in every job's working copy. The one private-folder check is the sandbox's (the
 * egress root needs the same); a symlink, another owner or write access for others
 * is refused, not repaired.
 */
export function ensurePrivateDir(path: string): Promise<void> {
  return ensurePrivateFolder(path, 'runs folder');
}
