import { PullwrightError } from '../../src/errors.js';
import { gitText, runGit } from './git.js';

/**
 * Bringing a pull request's branch up to date, on the host (issue 15 item 2). Every
 * command runs through `runGit`, so SAFE_GIT_CONFIG applies: hooks at /dev/null, no
 * system or global config, no fsmonitor. A repository's `.gitattributes` may name a merge
 * driver or a filter, but drivers and filters are defined only in config, which the
 * repository cannot reach here: git falls back to its built-in text merge. Nothing from
 * the workspace the agent touched is ever run on the host; the agent only edits files in
 * its sandbox and its resolution comes back as a patch.
 */

export interface Identity {
  name: string;
  email: string;
}

/** One conflicting file as the agent sees it: both sides and their common ancestor, capped. */
export interface MergeConflict {
  path: string;
  ours: string;
  theirs: string;
  base: string | null;
}

export type MergeOutcome =
  | { kind: 'up-to-date' }
  /** A merge commit (or rebased head) ready to push; `rebased` pushes with a lease. */
  | { kind: 'clean'; sha: string; rebased: boolean }
  /** A merge commit holding conflict markers (diff3), never pushed as is; parents: head, base. */
  | { kind: 'conflicts'; sha: string; conflicts: MergeConflict[] };

/** Each side of a conflict, as the agent's task quotes it (the working copy has the whole file). */
export const CONFLICT_SIDE_CHARS = 6_000;
export const MAX_CONFLICT_FILES = 50;

function identityEnv(who: Identity): Record<string, string> {
  return {
    GIT_AUTHOR_NAME: who.name,
    GIT_AUTHOR_EMAIL: who.email,
    GIT_COMMITTER_NAME: who.name,
    GIT_COMMITTER_EMAIL: who.email,
  };
}

function assertSha(sha: string): void {
  if (!/^[0-9a-f]{40}$/.test(sha)) throw new PullwrightError('input_invalid', 'Expected a full commit sha.');
}

/** Whether `ancestor` is already contained in `head` (nothing to update). */
export async function isAncestor(dir: string, ancestor: string, head: string): Promise<boolean> {
  const r = await runGit(['-C', dir, 'merge-base', '--is-ancestor', ancestor, head], { okCodes: [1] });
  return r.code === 0;
}

async function stageText(dir: string, stage: 1 | 2 | 3, path: string): Promise<string | null> {
  const r = await runGit(['-C', dir, 'show', `:${stage}:${path}`], { okCodes: [128] });
  if (r.code !== 0) return null;
  const buf = r.stdout;
  if (buf.subarray(0, 8_000).includes(0)) return '(binary file)';
  const text = buf.toString('utf8');
  return text.length > CONFLICT_SIDE_CHARS
    ? `${text.slice(0, CONFLICT_SIDE_CHARS)}\n… (${text.length - CONFLICT_SIDE_CHARS} more characters; the working copy has the whole file)`
    : text;
}

/**
 * Merges `baseSha` into the checkout at `headSha` (a host-only clean checkout). A clean
 * merge is committed; a conflicting one is committed with its markers so the agent's
 * working copy can start from it, and the conflicting files are listed with both sides.
 */
export async function mergeBaseIntoHead(input: {
  dir: string;
  headSha: string;
  baseSha: string;
  baseRef: string;
  author: Identity;
}): Promise<MergeOutcome> {
  const { dir, headSha, baseSha } = input;
  assertSha(headSha);
  assertSha(baseSha);
  if (await isAncestor(dir, baseSha, headSha)) return { kind: 'up-to-date' };
  const env = identityEnv(input.author);
  const message = `Merge ${input.baseRef} into this branch`;
  const merge = await runGit(
    [
      '-C',
      dir,
      '-c',
      'merge.conflictStyle=diff3',
      '-c',
      'rerere.enabled=false',
      'merge',
      '--no-ff',
      '--no-edit',
      '--no-verify',
      '--no-gpg-sign',
      '--no-log',
      '-m',
      message,
      baseSha,
    ],
    { env, okCodes: [1] },
  );
  if (merge.code === 0)
    return { kind: 'clean', sha: await gitText(['-C', dir, 'rev-parse', 'HEAD']), rebased: false };

  const unmerged = (await gitText(['-C', dir, 'diff', '--name-only', '--diff-filter=U', '-z']))
    .split('\0')
    .filter((p) => p.length > 0);
  if (unmerged.length === 0)
    throw new PullwrightError('git_failed', `git merge failed: ${merge.stderr.trim().slice(0, 1_000)}`);
  const conflicts: MergeConflict[] = [];
  for (const path of unmerged.slice(0, MAX_CONFLICT_FILES)) {
    conflicts.push({
      path,
      ours: (await stageText(dir, 2, path)) ?? '(deleted on this branch)',
      theirs: (await stageText(dir, 3, path)) ?? `(deleted on ${input.baseRef})`,
      base: await stageText(dir, 1, path),
    });
  }
  // Commit the tree with its markers (git keeps MERGE_HEAD, so the parents are head and base):
  // only a starting point for the agent's working copy, replaced before anything is pushed.
  await runGit(['-C', dir, 'add', '--all', '--', '.'], { env });
  await runGit(
    ['-C', dir, 'commit', '--quiet', '--no-verify', '--no-gpg-sign', '-m', `${message} (conflicts)`],
    {
      env,
    },
  );
  return { kind: 'conflicts', sha: await gitText(['-C', dir, 'rev-parse', 'HEAD']), conflicts };
}

/**
 * Rebases the checkout's head onto `baseSha`. Only for a branch whose every commit is
 * Pullwright's (the caller checks): a rebase rewrites history, and a person's commits are
 * never rewritten. A conflict aborts the rebase and returns null, so the caller merges.
 */
export async function rebaseOntoBase(input: {
  dir: string;
  headSha: string;
  baseSha: string;
  committer: Identity;
}): Promise<string | null> {
  assertSha(input.headSha);
  assertSha(input.baseSha);
  const env = {
    GIT_COMMITTER_NAME: input.committer.name,
    GIT_COMMITTER_EMAIL: input.committer.email,
  };
  const r = await runGit(
    ['-C', input.dir, '-c', 'rerere.enabled=false', 'rebase', '--no-autostash', '--no-verify', input.baseSha],
    { env, okCodes: [1, 128] },
  );
  if (r.code === 0) return gitText(['-C', input.dir, 'rev-parse', 'HEAD']);
  await runGit(['-C', input.dir, 'rebase', '--abort'], { okCodes: [128] });
  return null;
}

/**
 * Lines git writes for an unresolved conflict (`<<<<<<< HEAD`, `||||||| base`, `>>>>>>> sha`);
 * a resolution that keeps any is refused. `=======` alone is not checked: reStructuredText
 * underlines a seven-letter heading with it.
 */
const MARKER = /^(?:<{7}|>{7}|\|{7}) \S/m;

/**
 * Turns the agent's resolution (applied on top of the marker commit in `dir`) into the
 * merge commit that is pushed: the resolved tree with the original parents (head, base),
 * so history shows one ordinary merge. Refuses a tree that still has conflict markers in
 * a file that conflicted.
 */
export async function commitResolution(input: {
  dir: string;
  parents: [string, string];
  conflictPaths: string[];
  message: string;
  author: Identity;
}): Promise<string> {
  for (const sha of input.parents) assertSha(sha);
  await runGit(['-C', input.dir, 'add', '--all', '--', '.']);
  const left: string[] = [];
  for (const path of input.conflictPaths) {
    const blob = await runGit(['-C', input.dir, 'show', `:0:${path}`], { okCodes: [128] });
    if (blob.code === 0 && MARKER.test(blob.stdout.toString('utf8'))) left.push(path);
  }
  if (left.length > 0)
    throw new PullwrightError(
      'patch_rejected',
      `Conflict markers are still in ${left.slice(0, 10).join(', ')}; nothing was pushed.`,
      { retryable: false },
    );
  const tree = await gitText(['-C', input.dir, 'write-tree']);
  return gitText(
    ['-C', input.dir, 'commit-tree', tree, '-p', input.parents[0], '-p', input.parents[1], '-F', '-'],
    { env: identityEnv(input.author), input: `${input.message.replace(/\s+$/, '')}\n` },
  );
}
