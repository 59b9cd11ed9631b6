import type { Octokit } from '@octokit/rest';
import type { RepoRef } from '../domain/task.js';
import type { IssueChange, NewIssue } from './ci-data.js';
import type { IssueData } from './github-for-worker.js';
import { callGitHub } from './octokit-errors.js';

/** Issue reads and writes both processes share (the worker's tracking, the app's dashboard). */

interface OctokitIssue {
  number: number;
  title: string;
  body?: string | null;
  state: string;
  html_url: string;
  user: { login: string } | null;
  pull_request?: unknown;
  labels: (string | { name?: string })[];
}

export function toIssue(data: OctokitIssue): IssueData {
  return {
    number: data.number,
    title: data.title,
    body: data.body ?? '',
    state: data.state === 'open' ? 'open' : 'closed',
    author: data.user?.login ?? 'ghost',
    isPullRequest: Boolean(data.pull_request),
    htmlUrl: data.html_url,
    labels: data.labels.map((l) => (typeof l === 'string' ? l : (l.name ?? ''))).filter(Boolean),
  };
}

export async function getIssue(octokit: Octokit, repo: RepoRef, number: number): Promise<IssueData> {
  const { data } = await callGitHub('Reading the issue', () =>
    octokit.rest.issues.get({ owner: repo.owner, repo: repo.name, issue_number: number }),
  );
  return toIssue(data);
}

export async function createIssue(octokit: Octokit, repo: RepoRef, input: NewIssue): Promise<IssueData> {
  const { data } = await callGitHub('Creating an issue', () =>
    octokit.rest.issues.create({ owner: repo.owner, repo: repo.name, ...input }),
  );
  return toIssue(data);
}

export async function updateIssue(
  octokit: Octokit,
  repo: RepoRef,
  number: number,
  change: IssueChange,
): Promise<IssueData> {
  const { data } = await callGitHub('Updating an issue', () =>
    octokit.rest.issues.update({ owner: repo.owner, repo: repo.name, issue_number: number, ...change }),
  );
  return toIssue(data);
}

/**
 * The newest issue by `creator` whose body contains `marker`. Filtering by creator on GitHub's side is
 * the security property, not an optimization: anyone can open an issue carrying the marker, and the
 * dashboard must never adopt (and keep rewriting, or read checkboxes from) an issue a stranger wrote.
 * Pull requests are listed by this endpoint too and are skipped.
 */
export async function findIssueByMarker(
  octokit: Octokit,
  repo: RepoRef,
  marker: string,
  creator: string,
  state: 'open' | 'closed' | 'all' = 'all',
): Promise<IssueData | null> {
  const issues = await callGitHub('Finding an issue by its marker', () =>
    octokit.paginate(octokit.rest.issues.listForRepo, {
      owner: repo.owner,
      repo: repo.name,
      creator,
      state,
      sort: 'created',
      direction: 'desc',
      per_page: 100,
    }),
  );
  const found = issues.find(
    (i) =>
      !i.pull_request &&
      (i.user?.login ?? '').toLowerCase() === creator.toLowerCase() &&
      (i.body ?? '').includes(marker),
  );
  return found ? toIssue(found) : null;
}
