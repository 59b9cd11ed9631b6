import type { Octokit } from '@octokit/rest';
import type { RepoRef } from '../domain/task.js';
import type { CompareData, PullCommitData } from './ci-data.js';
import type { PullData } from './github-for-worker.js';
import { callGitHub } from './octokit-errors.js';

/** Pull request reads both processes share: mergeability, commits, comparisons. */

interface OctokitPull {
  number: number;
  title: string;
  body?: string | null;
  state: string;
  merged_at?: string | null;
  draft?: boolean;
  html_url: string;
  head: { ref: string; sha: string; repo: { full_name: string } | null };
  base: { ref: string; sha: string };
  mergeable?: boolean | null;
  mergeable_state?: string;
}

export function toPull(p: OctokitPull): PullData {
  return {
    number: p.number,
    title: p.title,
    body: p.body ?? '',
    state: p.state === 'open' ? 'open' : 'closed',
    merged: Boolean(p.merged_at),
    draft: Boolean(p.draft),
    htmlUrl: p.html_url,
    headRef: p.head.ref,
    headSha: p.head.sha,
    headRepoFullName: p.head.repo?.full_name ?? null,
    baseRef: p.base.ref,
    baseSha: p.base.sha,
    mergeable: p.mergeable ?? null,
    mergeableState: p.mergeable_state ?? 'unknown',
  };
}

const at = (repo: RepoRef) => ({ owner: repo.owner, repo: repo.name });

export async function getPull(octokit: Octokit, repo: RepoRef, number: number): Promise<PullData> {
  const { data } = await callGitHub('Reading the pull request', () =>
    octokit.rest.pulls.get({ ...at(repo), pull_number: number }),
  );
  return toPull(data);
}

/**
 * GitHub computes `mergeable` in a background job after a push to the head or the base and answers
 * null until it is done (its docs: "poll"). Waits with a growing delay; on timeout returns the last
 * answer, still null, and the caller decides (an unknown is never read as "conflicts").
 */
export async function getPullMergeability(
  octokit: Octokit,
  repo: RepoRef,
  number: number,
  timeoutMs = 10_000,
  sleep: (ms: number) => Promise<void> = (ms) => new Promise((r) => setTimeout(r, ms)),
): Promise<PullData> {
  const deadline = Date.now() + timeoutMs;
  let delay = 250;
  for (;;) {
    const pull = await getPull(octokit, repo, number);
    if (pull.mergeable !== null || pull.state !== 'open' || Date.now() + delay > deadline) return pull;
    await sleep(delay);
    delay = Math.min(delay * 2, 2_000);
  }
}

export async function listOpenPulls(
  octokit: Octokit,
  repo: RepoRef,
  filter: { base?: string; head?: string } = {},
): Promise<PullData[]> {
  const data = await callGitHub('Listing pull requests', () =>
    octokit.paginate(octokit.rest.pulls.list, {
      ...at(repo),
      state: 'open',
      ...filter,
      sort: 'created',
      direction: 'desc',
      per_page: 100,
    }),
  );
  return data.map(toPull);
}

/** Pull requests whose head contains `sha`: how a `status` event, which names no PR, finds its PRs. */
export async function listPullsForCommit(octokit: Octokit, repo: RepoRef, sha: string): Promise<PullData[]> {
  const { data } = await callGitHub('Listing pull requests of a commit', () =>
    octokit.rest.repos.listPullRequestsAssociatedWithCommit({ ...at(repo), commit_sha: sha, per_page: 100 }),
  );
  return data.map(toPull);
}

export async function compareCommits(
  octokit: Octokit,
  repo: RepoRef,
  base: string,
  head: string,
): Promise<CompareData> {
  const { data } = await callGitHub('Comparing commits', () =>
    // One page of commits is enough: only the counts and the merge base are read.
    octokit.rest.repos.compareCommitsWithBasehead({
      ...at(repo),
      basehead: `${base}...${head}`,
      per_page: 1,
    }),
  );
  return {
    status: data.status,
    aheadBy: data.ahead_by,
    behindBy: data.behind_by,
    mergeBaseSha: data.merge_base_commit.sha,
  };
}

export async function listPullCommits(
  octokit: Octokit,
  repo: RepoRef,
  number: number,
): Promise<PullCommitData[]> {
  const data = await callGitHub('Listing the pull request commits', () =>
    octokit.paginate(octokit.rest.pulls.listCommits, { ...at(repo), pull_number: number, per_page: 100 }),
  );
  return data.map((c) => ({
    sha: c.sha,
    message: c.commit.message,
    parents: c.parents.map((p) => p.sha),
    authorLogin: c.author && 'login' in c.author ? c.author.login : null,
    committerLogin: c.committer && 'login' in c.committer ? c.committer.login : null,
    authorEmail: c.commit.author?.email ?? '',
    committerEmail: c.commit.committer?.email ?? '',
  }));
}
