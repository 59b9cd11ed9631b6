import { mkdir, rm } from 'node:fs/promises';
import { dirname } from 'node:path';
import { PullwrightError } from '../../src/errors.js';
import { gitText, runGit } from '../workspace/git.js';
import { type RepoCache, resolveRef } from '../workspace/repo-cache.js';

/**
 * Host-side delivery: a clean checkout the agent never saw, a commit made as the
 * app, and a push with the token in the environment only.
 */

export interface GitIdentity {
  name: string;
  email: string;
}

export interface CleanCheckout {
  dir: string;
  sha: string;
}

/**
 * A checkout only the host controls. It borrows the cache's objects through
 * alternates (fast, no copy): safe here because nothing untrusted ever writes to it.
 */
export async function createCleanCheckout(input: {
  cache: RepoCache;
  ref: string;
  dir: string;
}): Promise<CleanCheckout> {
  const sha = await resolveRef(input.cache, input.ref);
  await rm(input.dir, { recursive: true, force: true });
  await mkdir(dirname(input.dir), { recursive: true });
  await runGit(['clone', '--quiet', '--shared', '--no-checkout', '--', input.cache.dir, input.dir]);
  await runGit(['-C', input.dir, 'remote', 'set-url', 'origin', input.cache.remoteUrl]);
  await runGit(['-C', input.dir, 'checkout', '--quiet', '--detach', sha]);
  return { dir: input.dir, sha };
}

function assertIdentity(who: GitIdentity, role: string): void {
  if (!who.name.trim() || /[<>\n]/.test(who.name) || !/^[^\s<>@]+@[^\s<>]+$/.test(who.email))
    throw new PullwrightError('input_invalid', `Invalid ${role} identity.`);
}

/** Appends `Co-authored-by:` trailers (once each) to a commit message. */
export function withCoAuthors(message: string, coAuthors: readonly GitIdentity[]): string {
  const body = message.replace(/\s+$/, '');
  const trailers = coAuthors
    .map((c) => `Co-authored-by: ${c.name} <${c.email}>`)
    .filter((t, i, all) => all.indexOf(t) === i && !body.includes(t));
  if (trailers.length === 0) return `${body}\n`;
  const lastParagraph = body.split(/\n\n/).pop() ?? '';
  const endsWithTrailers = /^[A-Za-z-]+: .+$/m.test(lastParagraph) && body.includes('\n\n');
  return `${body}${endsWithTrailers ? '\n' : '\n\n'}${trailers.join('\n')}\n`;
}

/**
 * Commits the staged change (e.g. after `applyPatch`) with the app as author and
 * committer and the requester as co-author. Hooks never run (`--no-verify`, and
 * hooksPath is /dev/null for every host git call). An empty change is refused.
 */
export async function commitChange(input: {
  dir: string;
  message: string;
  author: GitIdentity;
  committer?: GitIdentity;
  coAuthors?: GitIdentity[];
}): Promise<string> {
  const committer = input.committer ?? input.author;
  assertIdentity(input.author, 'author');
  assertIdentity(committer, 'committer');
  const staged = await runGit(['-C', input.dir, 'diff', '--cached', '--quiet'], { okCodes: [1] });
  if (staged.code === 0)
    throw new PullwrightError('patch_rejected', 'There is nothing to commit.', { retryable: false });
  await runGit(['-C', input.dir, 'commit', '--quiet', '--no-verify', '--no-gpg-sign', '-F', '-'], {
    input: withCoAuthors(input.message, input.coAuthors ?? []),
    env: {
      GIT_AUTHOR_NAME: input.author.name,
      GIT_AUTHOR_EMAIL: input.author.email,
      GIT_COMMITTER_NAME: committer.name,
      GIT_COMMITTER_EMAIL: committer.email,
    },
  });
  return gitText(['-C', input.dir, 'rev-parse', 'HEAD']);
}

export interface PushInput {
  dir: string;
  remoteUrl: string;
  token?: string;
  branch: string;
  /** What to push; default HEAD. */
  sha?: string;
  /** Replace the branch only if it still points at this sha (force-with-lease). */
  expectedSha?: string;
  /** Plain force; only when explicitly asked. */
  force?: boolean;
}

/**
 * Pushes to `refs/heads/<branch>` over HTTPS with the token in the environment.
 * A rejected non-fast-forward (or a lost lease) is a typed `conflict`: someone
 * else moved the branch, and the caller decides what to do.
 */
export async function pushBranch(input: PushInput): Promise<{ sha: string }> {
  if (!/^[A-Za-z0-9_./-]+$/.test(input.branch) || input.branch.startsWith('-') || input.branch.includes('..'))
    throw new PullwrightError('input_invalid', `Not a branch name: ${input.branch}`);
  const sha = input.sha ?? (await gitText(['-C', input.dir, 'rev-parse', 'HEAD']));
  const args = ['-C', input.dir, 'push', '--porcelain', '--no-verify'];
  if (input.expectedSha) args.push(`--force-with-lease=refs/heads/${input.branch}:${input.expectedSha}`);
  else if (input.force) args.push('--force');
  args.push(input.remoteUrl, `${sha}:refs/heads/${input.branch}`);
  const result = await runGit(args, { token: input.token, okCodes: [1] });
  const out = result.stdout.toString('utf8');
  if (result.code !== 0) {
    if (
      /^!.*\[rejected\]|non-fast-forward|fetch first|stale info|\[remote rejected\].*(?:lock|exists)/m.test(
        out,
      )
    ) {
      throw new PullwrightError('conflict', `Branch ${input.branch} moved; the push is not a fast-forward.`, {
        retryable: false,
        details: { branch: input.branch },
      });
    }
    throw new PullwrightError('git_failed', `git push failed: ${result.stderr.trim().slice(0, 2000)}`, {
      retryable: true,
    });
  }
  return { sha };
}

/** Commits in `sinceSha..branchSha` (both must be in the cache), newest first. */
export async function listCommits(input: {
  cache: RepoCache;
  sinceSha: string;
  branchSha: string;
}): Promise<{ sha: string; authorName: string; authorEmail: string }[]> {
  for (const s of [input.sinceSha, input.branchSha])
    if (!/^[0-9a-f]{40}$/.test(s)) throw new PullwrightError('input_invalid', 'Expected a full commit sha.');
  const out = await gitText([
    '--git-dir',
    input.cache.dir,
    'log',
    '--format=%H%x00%an%x00%ae',
    `${input.sinceSha}..${input.branchSha}`,
  ]);
  return out
    .split('\n')
    .filter((l) => l.length > 0)
    .map((line) => {
      const [sha = '', authorName = '', authorEmail = ''] = line.split('\0');
      return { sha, authorName, authorEmail };
    });
}

/** Whether a commit is in the cache (e.g. before a lease check). */
export async function hasCommit(cache: RepoCache, sha: string): Promise<boolean> {
  try {
    await resolveRef(cache, sha);
    return true;
  } catch {
    return false;
  }
}
