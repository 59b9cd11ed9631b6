import { execFile } from 'node:child_process';
import { mkdir, readdir } from 'node:fs/promises';
import { dirname } from 'node:path';
import { promisify } from 'node:util';
import { PullwrightError } from '../../src/errors.js';
import { gitText, runGit } from './git.js';
import { type RepoCache, resolveRef } from './repo-cache.js';

const execFileAsync = promisify(execFile);

/** The sandbox user; the working copy is handed to it. */
export const SANDBOX_UID = 1000;
export const SANDBOX_GID = 1000;

export interface CreateWorkingCopyInput {
  cache: RepoCache;
  /** A branch name, a full ref (`refs/pull/12/head`) or a commit sha. */
  ref: string;
  /** The folder to create; must not exist yet (or be empty). */
  dir: string;
  /** Local branch to check out at `ref`; detached HEAD when absent. */
  branch?: string;
}

export interface WorkingCopy {
  dir: string;
  baseSha: string;
}

/**
 * Makes the per-job working copy the sandbox mounts. It has no credentials: the
 * token never reached disk, and `origin` is the plain remote URL. Objects are
 * copied, not hardlinked (`--no-hardlinks`): a hardlink would share the inode
 * with the cache, so an agent rewriting a pack file would corrupt every later
 * job on that repository. Then the whole copy is given to uid 1000.
 */
export async function createWorkingCopy(input: CreateWorkingCopyInput): Promise<WorkingCopy> {
  const baseSha = await resolveRef(input.cache, input.ref);
  // An existing empty folder is kept (not recreated): a sandbox may already have it
  // bind-mounted, so the container can start while the checkout is still being written.
  await mkdir(dirname(input.dir), { recursive: true });
  const existing = await readdir(input.dir).catch(() => null);
  if (existing && existing.length > 0)
    throw new PullwrightError('input_invalid', 'The working copy folder is not empty.', { retryable: false });
  await runGit(['clone', '--quiet', '--no-hardlinks', '--no-checkout', '--', input.cache.dir, input.dir]);
  // The folder may already belong to uid 1000 (made for an early container start); this
  // host git runs before any sandbox command, on content it just wrote, so trusting it is safe.
  const inCopy = ['-c', `safe.directory=${input.dir}`, '-C', input.dir];
  await runGit([...inCopy, 'remote', 'set-url', 'origin', input.cache.remoteUrl]);
  if (input.branch) {
    if (!/^[A-Za-z0-9_./-]+$/.test(input.branch) || input.branch.startsWith('-'))
      throw new PullwrightError('input_invalid', `Not a branch name: ${input.branch}`);
    await runGit([...inCopy, 'checkout', '--quiet', '-B', input.branch, baseSha]);
  } else {
    await runGit([...inCopy, 'checkout', '--quiet', '--detach', baseSha]);
  }
  const head = await gitText([...inCopy, 'rev-parse', 'HEAD']);
  if (head !== baseSha)
    throw new PullwrightError('git_failed', 'The working copy is not at the expected commit.');
  await giveToSandboxUser(input.dir);
  return { dir: input.dir, baseSha };
}

/**
 * Hands a folder to the sandbox user. As root that is a chown (no symlink is
 * followed); a worker not running as root must run with uid 1000 itself, or the
 * sandbox could not write its workspace.
 */
export async function giveToSandboxUser(dir: string): Promise<void> {
  if (process.getuid?.() === 0) {
    await execFileAsync('chown', ['-R', '-P', `${SANDBOX_UID}:${SANDBOX_GID}`, '--', dir]);
  } else if (process.getuid?.() !== SANDBOX_UID) {
    await execFileAsync('chmod', ['-R', 'a+rwX', '--', dir]);
  }
}
