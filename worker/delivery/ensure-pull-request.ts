import { toPullwrightError } from '../../src/errors.js';
import type { PullData, RepoGitHub } from '../../src/github/github-for-worker.js';

export interface EnsurePullRequestInput {
  branch: string;
  base: string;
  title: string;
  body: string;
  draft: boolean;
  /** Added when the pull request is created (the repository's `pr.labels`). */
  labels: string[];
}

/**
 * Create-or-update by head branch (renovate's `ensure*`): an open pull request for
 * the branch gets the new body; otherwise one is opened. Idempotent, so a retried
 * or redelivered job never opens a second one.
 */
export async function ensurePullRequest(
  github: Pick<RepoGitHub, 'listPullsByHead' | 'updatePull' | 'createPull' | 'addLabels'>,
  input: EnsurePullRequestInput,
): Promise<{ pull: PullData; created: boolean }> {
  const [open] = await github.listPullsByHead(input.branch, 'open');
  if (open) return { pull: await github.updatePull(open.number, { body: input.body }), created: false };
  try {
    const pull = await github.createPull({
      title: input.title,
      body: input.body,
      head: input.branch,
      base: input.base,
      draft: input.draft,
    });
    if (input.labels.length > 0) await github.addLabels(pull.number, input.labels);
    return { pull, created: true };
  } catch (raw) {
    // A concurrent attempt (a redelivery racing a retry) may have opened it: adopt that one.
    const err = toPullwrightError(raw);
    if (err.code !== 'conflict' && err.code !== 'input_invalid') throw err;
    const [raced] = await github.listPullsByHead(input.branch, 'open');
    if (!raced) throw err;
    return { pull: await github.updatePull(raced.number, { body: input.body }), created: false };
  }
}
