import { join } from 'node:path';
import { PullwrightError } from '../../src/errors.js';
import { commitChange, createCleanCheckout, type GitIdentity } from '../delivery/git-delivery.js';
import { findPatchProblems } from '../delivery/patch-safety.js';
import { gitText, runGit } from '../workspace/git.js';
import { applyPatch } from '../workspace/patch.js';
import type { RepoCache } from '../workspace/repo-cache.js';
import type { LocalRepo } from './inspect-repo.js';

const AUTHOR: GitIdentity = { name: 'Pullwright', email: 'pullwright@users.noreply.localhost' };

export interface KeepLocalChangeInput {
  repo: LocalRepo;
  /** The private bare copy the run cloned the repository into. */
  cache: RepoCache;
  patch: string;
  task: string;
  summary: string;
  protectedPaths: readonly string[];
  allowProtectedPaths: boolean;
  /** A scratch folder of the run for the clean checkout. */
  scratch: string;
  /** Names the branch `pullwright/run-<stamp>`. */
  stamp: string;
}

/** A kept change, or why it was not kept (a patch-safety finding). */
export type KeptChange = { branch: string; commit: string } | { refused: string };

async function userIdentity(top: string): Promise<GitIdentity | null> {
  const name = await gitText(['-C', top, 'config', 'user.name']).catch(() => '');
  const email = await gitText(['-C', top, 'config', 'user.email']).catch(() => '');
  if (!name || /[<>\n]/.test(name) || !/^[^\s<>@]+@[^\s<>]+$/.test(email)) return null;
  return { name, email };
}

async function freeBranchName(top: string, base: string): Promise<string> {
  for (let i = 1; i < 100; i++) {
    const name = i === 1 ? base : `${base}-${i}`;
    const exists = await runGit(['-C', top, 'rev-parse', '--verify', '--quiet', `refs/heads/${name}`], {
      okCodes: [1],
    });
    if (exists.code !== 0) return name;
  }
  throw new PullwrightError('conflict', `Too many branches named ${base}-*.`);
}

function commitMessage(task: string, summary: string): string {
  const first = task.split('\n').find((l) => l.trim() !== '') ?? 'local task';
  const subject = first.trim().replace(/\s+/g, ' ');
  const title = `pullwright: ${subject.length > 60 ? `${subject.slice(0, 57)}...` : subject}`;
  return `${title}\n\n${summary.trim()}\n`;
}

/**
 * The CLI's delivery: the patch (hostile input from the sandbox) passes the same
 * safety checks and size cap as the worker's, is applied to a clean checkout the
 * host controls and committed as Pullwright with the user as co-author; the user's
 * repository then fetches that commit into a new branch. Only a new ref is created
 * there: the user's checkout, index and working tree stay as they were, and no
 * hook of theirs runs.
 */
export async function keepLocalChange(input: KeepLocalChangeInput): Promise<KeptChange> {
  const problems = findPatchProblems(input.patch, {
    protectedPaths: input.protectedPaths,
    allowProtected: input.allowProtectedPaths,
  });
  if (problems.length > 0) return { refused: problems.map((p) => p.message).join('; ') };
  const clean = await createCleanCheckout({
    cache: input.cache,
    ref: input.repo.head,
    dir: join(input.scratch, 'clean'),
  });
  await applyPatch({ cleanDir: clean.dir, patch: input.patch });
  const who = await userIdentity(input.repo.top);
  const commit = await commitChange({
    dir: clean.dir,
    message: commitMessage(input.task, input.summary || 'Change made by Pullwright.'),
    author: AUTHOR,
    coAuthors: who ? [who] : [],
  });
  const branch = await freeBranchName(input.repo.top, `pullwright/run-${input.stamp}`);
  await runGit([
    '-C',
    input.repo.top,
    'fetch',
    '--quiet',
    '--no-tags',
    clean.dir,
    `${commit}:refs/heads/${branch}`,
  ]);
  return { branch, commit };
}
