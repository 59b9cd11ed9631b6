import type { TokenReader } from '../../src/github/token-reader.js';
import type { EvalTask } from './find-eval-tasks.js';

/**
 * With a GitHub remote and a token: a task whose commit is a merged pull request gets, as its text,
 * the issue that pull request closed ("Fixes #12" in its description), which is what a person
 * would have handed the agent; without such an issue, the pull request's title and description.
 */

export interface GitHubRepoRef {
  host: string;
  owner: string;
  name: string;
}

/** owner/name of a GitHub remote URL (https, ssh or scp-like), or null for anything else. */
export function parseGitHubRemote(url: string): GitHubRepoRef | null {
  const m =
    /^(?:https?:\/\/(?:[^@/]+@)?|ssh:\/\/git@|git@)([^/:]+)(?::\d+)?[/:]([A-Za-z0-9_.-]+)\/([A-Za-z0-9_.-]+?)(?:\.git)?\/?$/.exec(
      url.trim(),
    );
  if (!m) return null;
  return { host: m[1]!.toLowerCase(), owner: m[2]!, name: m[3]! };
}

/** GitHub's API for a remote host: api.github.com, the configured one for that host, or GHE's /api/v3. */
export function apiUrlFor(host: string, configured: { apiUrl: string; gitUrl: string }): string {
  if (new URL(configured.gitUrl).host.toLowerCase() === host) return configured.apiUrl;
  return host === 'github.com' ? 'https://api.github.com' : `https://${host}/api/v3`;
}

const CLOSING =
  /\b(?:close[sd]?|fix(?:e[sd])?|resolve[sd]?)\s*:?\s+(?:([A-Za-z0-9_.-]+)\/([A-Za-z0-9_.-]+))?#(\d+)\b/gi;

/** Issue numbers of this repository a pull request body says it closes. */
export function closedIssueNumbers(body: string | null, repo: GitHubRepoRef): number[] {
  const out: number[] = [];
  for (const m of (body ?? '').matchAll(CLOSING)) {
    const sameRepo =
      !m[1] ||
      (m[1].toLowerCase() === repo.owner.toLowerCase() && m[2]!.toLowerCase() === repo.name.toLowerCase());
    if (sameRepo && !out.includes(Number(m[3]))) out.push(Number(m[3]));
  }
  return out;
}

export function createGitHubTaskDescriber(reader: TokenReader, repo: GitHubRepoRef) {
  const ref = { owner: repo.owner, name: repo.name };
  return async (task: EvalTask): Promise<EvalTask> => {
    if (!task.pullNumber) return task;
    try {
      const pull = await reader.getPull(ref, task.pullNumber);
      if (!pull.merged) return task;
      const [issueNumber] = closedIssueNumbers(pull.body, repo);
      if (issueNumber !== undefined) {
        const issue = await reader.getIssue(ref, issueNumber);
        if (!issue.isPullRequest)
          return {
            ...task,
            text: `${issue.title}\n\n${issue.body ?? ''}`.trim(),
            source: 'issue',
            issue: `${repo.owner}/${repo.name}#${issueNumber}`,
          };
      }
      return { ...task, text: `${pull.title}\n\n${pull.body ?? ''}`.trim(), source: 'pull-request' };
    } catch {
      // Unreadable (deleted, no access, offline): the commit message stays the task.
      return task;
    }
  };
}
