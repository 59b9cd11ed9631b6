import { mkdtemp } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { PullwrightError } from '../../../src/errors.js';
import { runGit } from './git.js';

/** Git plumbing for mergeability, comparisons, commit lists and CI checkouts (git.ts has the rest). */

export interface CommitDetail {
  sha: string;
  tree: string;
  parents: string[];
  authorName: string;
  authorEmail: string;
  authorDate: string;
  committerName: string;
  committerEmail: string;
  committerDate: string;
  message: string;
}

async function ok(args: string[], cwd: string): Promise<string> {
  const r = await runGit(args, { cwd });
  if (r.code !== 0) throw new PullwrightError('git_failed', `git ${args[0]} failed: ${r.stderr.trim()}`);
  return r.stdout.toString('utf8');
}

/** Commits of `revs` (rev-list arguments), oldest first, at most `max`. */
export async function commitDetails(gitDir: string, revs: string[], max = 250): Promise<CommitDetail[]> {
  const format = '%H%x1f%T%x1f%P%x1f%an%x1f%ae%x1f%aI%x1f%cn%x1f%ce%x1f%cI%x1f%B';
  const out = await ok(['log', '-z', '--reverse', `--format=${format}`, ...revs, '--'], gitDir);
  const all = out
    .split('\0')
    .filter(Boolean)
    .map((rec) => {
      const f = rec.split('\x1f');
      return {
        sha: f[0] ?? '',
        tree: f[1] ?? '',
        parents: f[2] ? f[2].split(' ') : [],
        authorName: f[3] ?? '',
        authorEmail: f[4] ?? '',
        authorDate: f[5] ?? '',
        committerName: f[6] ?? '',
        committerEmail: f[7] ?? '',
        committerDate: f[8] ?? '',
        message: (f[9] ?? '').trimEnd(),
      };
    });
  return all.slice(0, max);
}

export async function mergeBase(gitDir: string, a: string, b: string): Promise<string | null> {
  const r = await runGit(['merge-base', a, b], { cwd: gitDir });
  return r.code === 0 ? r.stdout.toString('utf8').trim() : null;
}

export async function countRange(gitDir: string, range: string): Promise<number> {
  return Number((await ok(['rev-list', '--count', range], gitDir)).trim());
}

/**
 * Whether `head` merges into `base` without conflicts, computed as GitHub does: a real three-way
 * merge of the trees (`git merge-tree --write-tree`, no work tree, nothing written to refs).
 */
export async function mergesCleanly(gitDir: string, base: string, head: string): Promise<boolean> {
  const r = await runGit(['merge-tree', '--write-tree', '--no-messages', base, head], { cwd: gitDir });
  if (r.code === 0) return true;
  if (r.code === 1) return false;
  throw new PullwrightError('git_failed', `git merge-tree failed: ${r.stderr.trim()}`);
}

/** A file's content at a commit, or null (for `.twin-ci.json`). */
export async function fileAt(gitDir: string, sha: string, path: string): Promise<string | null> {
  const r = await runGit(['show', `${sha}:${path}`], { cwd: gitDir });
  return r.code === 0 ? r.stdout.toString('utf8') : null;
}

/** A throwaway checkout of one commit, sharing the bare repo's objects (`clone --shared`). */
export async function checkoutCommit(gitDir: string, sha: string): Promise<string> {
  const dir = await mkdtemp(join(tmpdir(), 'twin-ci-'));
  const work = join(dir, 'work');
  await ok(['clone', '-q', '--shared', '--no-checkout', gitDir, work], dir);
  await ok(['-c', 'advice.detachedHead=false', 'checkout', '-q', '--detach', sha], work);
  return dir;
}
