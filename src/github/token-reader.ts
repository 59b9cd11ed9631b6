import type { RepoRef } from '../domain/task.js';
import type { IssueData } from './github-for-worker.js';
import { getIssue } from './issue-ops.js';
import { callGitHub } from './octokit-errors.js';
import { createResilientOctokit } from './resilient-octokit.js';

export interface MergedPullData {
  number: number;
  title: string;
  body: string | null;
  merged: boolean;
  mergeCommitSha: string | null;
}

/** Reads pull requests and issues with a person's token (`pullwright eval` on a GitHub remote); read-only. */
export interface TokenReader {
  getPull(repo: RepoRef, number: number): Promise<MergedPullData>;
  getIssue(repo: RepoRef, number: number): Promise<IssueData>;
}

/**
 * A read-only GitHub client for a token the operator supplies (a personal or fine-grained token, never
 * an installation's). It exposes reads only, so a command that holds it cannot write with it by mistake.
 */
export function createTokenReader(options: { apiUrl: string; token?: string }): TokenReader {
  const octokit = createResilientOctokit({
    auth: options.token,
    baseUrl: options.apiUrl,
    userAgent: 'pullwright-eval',
  });
  return {
    async getPull(repo, number) {
      const { data } = await callGitHub('Reading the pull request', () =>
        octokit.rest.pulls.get({ owner: repo.owner, repo: repo.name, pull_number: number }),
      );
      return {
        number: data.number,
        title: data.title,
        body: data.body ?? null,
        merged: Boolean(data.merged_at),
        mergeCommitSha: data.merge_commit_sha ?? null,
      };
    },
    getIssue: (repo, number) => getIssue(octokit, repo, number),
  };
}
