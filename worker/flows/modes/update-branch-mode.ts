import { type TargetTask, updateStrategyOf } from '../../../src/domain/task.js';
import { PullwrightError, toPullwrightError } from '../../../src/errors.js';
import type { PullData } from '../../../src/github/github-for-worker.js';
import { coAuthorTrailer } from '../../delivery/push-change.js';
import type { FlowContext } from '../flow-context.js';
import { codeSpan, inertMarkdown } from '../inert-markdown.js';
import { approvedText, assertRunPatchSafe, hasChange } from '../mode-helpers.js';
import { recordPush } from '../record-push.js';
import { verifyMerge } from '../verify-merge.js';
import type { Mode, ModeOutcome } from './mode.js';
import { agentPullOf, isOwnPull, onBehalfOf, ownOpenPull } from './own-pull.js';

/**
 * `update-branch` (issue 15 item 2): brings a PR's branch up to date with its base. The
 * merge happens on the host (worker/workspace/merge-branch.ts, hooks and repository config
 * never run); only conflicts go to the agent, in the sandbox, with both sides of each file,
 * and its resolution is verified and pushed as the merge commit. A rebase (`@agent rebase`)
 * rewrites history, so it is done with `--force-with-lease` only when every commit on the
 * branch is Pullwright's; a branch with a person's commit is merged into, never rewritten.
 */

const PERSON_PUSHED =
  'Someone pushed to the branch while this run was working. Their commits were left as they are; ask again to update on top of them.';

/** True when every commit of the PR is the app's own (author and committer): only then may it be rewritten. */
async function onlyOwnCommits(ctx: FlowContext<TargetTask>, pull: PullData): Promise<boolean> {
  const bot = ctx.deps.bot;
  const ours = (login: string | null, email: string) =>
    login === bot.login || email.toLowerCase() === bot.identity.email.toLowerCase();
  const commits = await ctx.github.listPullCommits(pull.number);
  return (
    commits.length > 0 &&
    commits.every((c) => ours(c.authorLogin, c.authorEmail) && ours(c.committerLogin, c.committerEmail))
  );
}

function pushedByPerson(raw: unknown): never {
  const err = toPullwrightError(raw);
  if (err.code === 'conflict')
    throw new PullwrightError('conflict', PERSON_PUSHED, {
      retryable: false,
      cause: err,
      details: { publicMessage: PERSON_PUSHED },
    });
  throw err;
}

export const updateBranchMode: Mode<TargetTask> = {
  trackingTitle: (task) => `updating the branch for ${onBehalfOf(task)}`,

  async plan(ctx) {
    const { task, deps } = ctx;
    if (task.trigger.source === 'follow-up' && ctx.config.updateBranch === 'off')
      return {
        status: 'skipped',
        reason: 'updateBranch is off',
        detail: 'Branch updates are turned off (`updateBranch: off`).',
      };
    const own = await ownOpenPull(ctx);
    if (!isOwnPull(own)) return own;
    const { pull, fork } = own;
    // Pullwright's own fork PR: its head comes from refs/pull/N/head, and the update goes to the
    // fork with the fork's token, never to a branch of this repository.
    const pushTo = fork ? { repo: fork.target.pushRepo, token: fork.target.pushToken } : undefined;
    const refs = fork ? [fork.headRef] : undefined;
    const notes: string[] = [];
    let strategy: 'merge' | 'rebase' = 'merge';
    if (updateStrategyOf(task) === 'rebase') {
      if (await onlyOwnCommits(ctx, pull)) strategy = 'rebase';
      else
        notes.push(
          "A person committed to this branch, so the base was merged in instead of rebasing: Pullwright never rewrites a person's commits.",
        );
    }
    if (notes.length > 0) ctx.tracking?.update({ notes });
    ctx.tracking?.update({ phase: 'workspace', step: `Merging ${pull.baseRef} into ${pull.headRef}` });
    const message = `Merge ${pull.baseRef} into ${pull.headRef} (#${pull.number})\n\n${coAuthorTrailer(task.trigger)}\n`;
    const update = await deps.workspaces
      .updateBranch({
        repo: task.repo,
        token: ctx.github.token,
        branch: pull.headRef,
        headSha: pull.headSha,
        baseRef: pull.baseRef,
        strategy,
        author: deps.bot.identity,
        jobId: ctx.jobId,
        refs,
        pushTo,
        // A clean merge can still break the build (a semantic conflict): verify it before pushing.
        verifyFirst: ctx.config.verifyCommands.length > 0,
      })
      .catch(pushedByPerson);
    const base = codeSpan(pull.baseRef);
    const head = codeSpan(pull.headRef);
    if (update.kind === 'up-to-date')
      return {
        status: 'no-changes',
        reason: 'up to date',
        detail: `${head} already contains the latest ${base}.`,
      };
    const record = (commitSha: string) =>
      recordPush(
        ctx,
        { commitSha, prNumber: pull.number, branch: pull.headRef, baseRef: pull.baseRef },
        false,
      );
    const done = (commitSha: string, detail: string): ModeOutcome => ({
      status: 'succeeded',
      prNumber: pull.number,
      prUrl: pull.htmlUrl,
      branch: pull.headRef,
      baseRef: pull.baseRef,
      commitSha,
      detail,
    });
    const cleanText = (u: { sha: string; baseSha: string; rebased: boolean }) =>
      u.rebased
        ? `Rebased ${head} onto ${base} (${u.baseSha.slice(0, 7)}) and pushed ${u.sha.slice(0, 7)} with a lease: every commit on the branch was Pullwright's.`
        : `Merged ${base} (${u.baseSha.slice(0, 7)}) into ${head} without conflicts: ${u.sha.slice(0, 7)}.`;
    if (update.kind === 'pushed') {
      await record(update.sha);
      return done(update.sha, cleanText(update));
    }
    if (update.kind === 'merged') {
      ctx.tracking?.update({ phase: 'verify', step: 'Running the verify commands on the merge' });
      const { verify, blockedHosts } = await verifyMerge(ctx, update.sha);
      const failed = verify.filter((v) => !v.ok);
      if (failed.length > 0) {
        const what = update.rebased ? `Rebasing ${head} onto ${base}` : `Merging ${base} into ${head}`;
        const commands = failed.map((v) => codeSpan(v.command.slice(0, 200))).join(', ');
        return {
          status: 'no-changes',
          reason: 'verify failed',
          verify,
          blockedHosts,
          detail: `${what} has no conflicts, but verification failed on the result (${commands}), so nothing was pushed: the two sides may not work together, or the branch failed already. A person needs to look; \`@agent fix ci\` can repair the branch first.`,
        };
      }
      ctx.tracking?.update({ phase: 'deliver', step: `Pushing ${pull.headRef}` });
      await deps.workspaces
        .pushUpdate({
          repo: task.repo,
          token: ctx.github.token,
          branch: pull.headRef,
          sha: update.sha,
          // A rebase replaces the branch only if it still points where this run read it.
          expectedSha: update.rebased ? pull.headSha : undefined,
          pushTo,
        })
        .catch(pushedByPerson);
      await record(update.sha);
      return { ...done(update.sha, cleanText(update)), verify, blockedHosts };
    }

    const conflictPaths = update.conflicts.map((c) => c.path);
    const listed = conflictPaths
      .slice(0, 20)
      .map((p) => codeSpan(p))
      .join(', ');
    ctx.tracking?.update({
      notes: [...notes, `Merging ${base} into ${head} conflicts in ${listed}; the agent resolves them.`],
    });
    return {
      startRef: update.mergeSha,
      headSha: pull.headSha,
      agentTask: {
        kind: 'update-branch',
        pr: agentPullOf(pull, approvedText(ctx, pull, 'pull request')),
        baseRef: pull.baseRef,
        conflicts: update.conflicts,
        instruction: task.trigger.instruction,
      },
      async deliver(run): Promise<ModeOutcome> {
        const failed = run.verify.filter((v) => !v.ok);
        if (!hasChange(run) || failed.length > 0)
          return {
            status: 'no-changes',
            reason: hasChange(run) ? 'verify failed' : 'unresolved',
            agent: run.agent,
            verify: run.verify,
            detail: `${
              hasChange(run)
                ? `The conflicts in ${listed} were resolved but verification failed, so nothing was pushed.`
                : `The conflicts in ${listed} were not resolved, so nothing was pushed.`
            }\n\n${inertMarkdown(run.agent.summary, 2_000)}`,
          };
        assertRunPatchSafe(ctx, run);
        ctx.tracking?.update({ phase: 'deliver', step: `Pushing ${pull.headRef}` });
        const { commitSha } = await deps.workspaces
          .pushResolution({
            repo: task.repo,
            token: ctx.github.token,
            branch: pull.headRef,
            mergeSha: update.mergeSha,
            parents: [pull.headSha, update.baseSha],
            conflictPaths,
            patch: run.patch.patch,
            message,
            author: deps.bot.identity,
            pushTo,
          })
          .catch(pushedByPerson);
        await record(commitSha);
        return {
          ...done(
            commitSha,
            `Merged ${base} into ${head} and resolved the conflicts in ${listed}: ${commitSha.slice(0, 7)}.\n\n${inertMarkdown(run.agent.summary, 3_000)}`,
          ),
          agent: run.agent,
          verify: run.verify,
          blockedHosts: run.blockedHosts,
        };
      },
    };
  },
};
