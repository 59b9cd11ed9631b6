import type { TargetTask } from '../../../src/domain/task.js';
import { issueBranch } from '../flow-config.js';
import { inertPlainLine } from '../inert-markdown.js';
import {
  approvedText,
  assertRunPatchSafe,
  authorizedAuthors,
  deliveryTargetOf,
  hasChange,
  noChangesOutcome,
  proposeChange,
  pushRun,
  sha256,
} from '../mode-helpers.js';
import type { Mode } from './mode.js';

/** An issue assigned to the bot (or `@agent …` on an issue): a branch per issue and one PR that fixes it. */
export const implementMode: Mode<TargetTask> = {
  trackingTitle: (task) => `implementing #${task.number} for @${task.trigger.actor}`,

  async plan(ctx) {
    const { task, github } = ctx;
    const number = task.number;
    // The text a writer approved when it changed since; comments are filtered by author below.
    const issue = approvedText(ctx, await github.getIssue(number), 'issue');
    const comments = await github.listIssueComments(number);
    const allowed = await authorizedAuthors(
      ctx,
      comments.filter((c) => !c.authorIsBot).map((c) => c.author),
    );
    const branch = issueBranch(ctx.config.pr.branchPrefix, number, issue.title);
    const target = await deliveryTargetOf(ctx);
    const branchSha = await target.getBranchSha(branch);
    // A fork's branch is not in the base repository: its open pull request's head is (refs/pull/N/head).
    const [open] =
      target.mode === 'fork' && branchSha ? await target.pulls.listPullsByHead(branch, 'open') : [];
    const forkHead = open ? `refs/pull/${open.number}/head` : undefined;
    return {
      // Asking again builds on the existing branch, including any commits a person added.
      startRef: target.mode === 'fork' ? (forkHead ?? ctx.defaultBranch) : (branchSha ?? ctx.defaultBranch),
      fetchRefs: forkHead ? [forkHead] : undefined,
      // The check run goes on the branch's head when it exists; a new branch gets it on its first commit.
      headSha: target.mode === 'branch' ? (branchSha ?? undefined) : undefined,
      agentTask: {
        kind: 'implement',
        issue: {
          number,
          title: issue.title,
          body: issue.body,
          comments: comments
            .filter((c) => allowed.has(c.author) && !c.body.includes('<!-- pullwright:'))
            .map((c) => ({ author: c.author, body: c.body })),
        },
        instruction: task.trigger.instruction,
      },
      async deliver(run) {
        if (!hasChange(run)) return noChangesOutcome(run);
        assertRunPatchSafe(ctx, run);
        const commitSha = await pushRun(ctx, run, {
          branch,
          message: `${inertPlainLine(issue.title, 64)} (#${number})`,
          target,
        });
        const { pull, draftReason } = await proposeChange(ctx, run, {
          branch,
          title: inertPlainLine(issue.title, 200),
          heading: `Implements #${number}, as asked by @${task.trigger.actor}.`,
          fixes: number,
          patchHash: sha256(run.patch.patch),
          target,
        });
        return {
          status: 'succeeded',
          prNumber: pull.number,
          prUrl: pull.htmlUrl,
          branch,
          commitSha,
          agent: run.agent,
          verify: run.verify,
          blockedHosts: run.blockedHosts,
          detail: draftReason ? `Opened as a draft: ${draftReason}` : undefined,
        };
      },
    };
  },
};
