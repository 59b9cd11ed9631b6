import type { TargetTask } from '../../../src/domain/task.js';
import type { ReviewThreadData } from '../../../src/github/github-for-worker.js';
import { ownHeadOf } from '../../delivery/fork-delivery.js';
import { replyToThreads } from '../../delivery/reply-to-threads.js';
import { answerThreads, shouldResolve } from '../../delivery/resolve-threads.js';
import type { FlowContext, SessionRun } from '../flow-context.js';
import { codeSpan, inertMarkdown } from '../inert-markdown.js';
import {
  approvedText,
  assertRunPatchSafe,
  authorizedAuthors,
  deliveryTargetOf,
  hasChange,
  noChangesOutcome,
  pushRun,
} from '../mode-helpers.js';
import type { Mode, ModeOutcome } from './mode.js';

/**
 * What the two pull-request modes share: work on the PR's own branch, answer each
 * unresolved review thread by a person with write access, push without force.
 */
export interface PullRequestModeOptions {
  kind: 'address-review' | 'revise';
  /** "addressing review" / "revising", in the tracking comment's title. */
  verb: string;
  /** The commit subject, before ` (#number)`. */
  subject: string;
  /** When true, a PR with no unresolved threads or new review comments ends without a run. */
  needsFeedback: boolean;
}

const FORK_REFUSAL =
  'This pull request comes from a fork, where Pullwright cannot push. It can implement the change on a branch of this repository instead: assign the issue, or copy the branch here and ask again.';

/** The agent's own reply for each thread (by its number in the task), else the run's summary. */
function explainer(run: SessionRun): (index: number) => string {
  // Model output that read untrusted text: neutralized like the summary before posting.
  const own = new Map((run.agent.threadReplies ?? []).map((r) => [r.thread, r.reply]));
  return (index) => {
    const reply = own.get(index + 1);
    return reply !== undefined ? inertMarkdown(reply, 1_000) : inertMarkdown(run.agent.summary, 800);
  };
}

async function usableFeedback(ctx: FlowContext<TargetTask>, headSha: string) {
  const threads = (await ctx.github.listReviewThreads(ctx.task.number)).filter((t) => !t.isResolved);
  const reviews = (await ctx.github.listReviews(ctx.task.number)).filter(
    (r) => r.body.trim() !== '' && r.commitId === headSha,
  );
  const allowed = await authorizedAuthors(ctx, [
    ...threads.flatMap((t) => t.comments.map((c) => c.author)),
    ...reviews.map((r) => r.author),
  ]);
  return {
    threads: threads
      .map((t) => ({ ...t, comments: t.comments.filter((c) => allowed.has(c.author)) }))
      .filter((t) => t.comments.length > 0),
    reviews: reviews.filter((r) => allowed.has(r.author)),
  };
}

function repliesFor(threads: ReviewThreadData[], text: (thread: ReviewThreadData, index: number) => string) {
  return threads.flatMap((thread, index) => {
    const first = thread.comments[0];
    return first ? [{ commentId: first.databaseId, body: text(thread, index) }] : [];
  });
}

export function pullRequestMode(options: PullRequestModeOptions): Mode<TargetTask> {
  return {
    trackingTitle: (task) => `${options.verb} for @${task.trigger.actor}`,

    async plan(ctx) {
      const { task, github } = ctx;
      const number = task.number;
      const pull = await github.getPull(number);
      // The app's token cannot push to a fork, and running on a fork's code with our
      // credentials nearby is exactly what a malicious fork would want.
      // A branch Pullwright made in the operator's fork (`delivery: fork`) is its own; any other fork is not.
      const own = ownHeadOf(pull, task.repo, {
        forkOwner: ctx.deps.delivery?.forkOwner,
        branchPrefix: ctx.config.pr.branchPrefix,
      });
      if (!own) return { status: 'refused', reason: 'fork', detail: FORK_REFUSAL };
      if (pull.state !== 'open')
        return {
          status: 'refused',
          reason: 'closed',
          detail: 'This pull request is closed; reopen it and ask again.',
        };
      const { threads, reviews } = await usableFeedback(ctx, pull.headSha);
      if (options.needsFeedback && threads.length === 0 && reviews.length === 0)
        return {
          status: 'no-changes',
          reason: 'nothing to address',
          detail: 'There are no unresolved review threads or new review comments to address.',
        };
      const target = own.mode === 'fork' ? await deliveryTargetOf(ctx, own) : undefined;
      const forkHead = `refs/pull/${number}/head`;
      return {
        startRef: target ? forkHead : pull.headRef,
        headSha: pull.headSha,
        fetchRefs: target ? [forkHead] : undefined,
        agentTask: {
          kind: options.kind,
          pr: {
            number,
            ...approvedText(ctx, pull, 'pull request'),
            baseRef: pull.baseRef,
            headRef: pull.headRef,
          },
          threads: threads.map((t) => ({
            id: t.id,
            path: t.path,
            line: t.line,
            diffHunk: t.diffHunk,
            comments: t.comments.map((c) => ({ author: c.author, body: c.body })),
          })),
          reviews: reviews.map((r) => ({ author: r.author, body: r.body, state: r.state })),
          instruction: task.trigger.instruction,
        },
        async deliver(run): Promise<ModeOutcome> {
          const explain = explainer(run);
          if (!hasChange(run)) {
            await replyToThreads(
              github,
              number,
              repliesFor(threads, (_t, i) => `I looked at this and made no change. ${explain(i)}`),
            );
            return noChangesOutcome(run);
          }
          assertRunPatchSafe(ctx, run);
          const commitSha = await pushRun(ctx, run, {
            branch: pull.headRef,
            pull: { number: pull.number, baseRef: pull.baseRef },
            message: `${options.subject} (#${number})`,
            target,
          });
          const short = commitSha.slice(0, 7);
          const changed = new Set(run.patch.paths);
          const verified = run.verify.every((v) => v.ok);
          const statusOf = new Map((run.agent.threadReplies ?? []).map((r) => [r.thread, r.status]));
          const answers = threads.flatMap((thread, i) => {
            const first = thread.comments[0];
            if (!first) return [];
            const decision = {
              changed: changed.has(thread.path),
              verified,
              declined: statusOf.get(i + 1) === 'declined',
              // Only address-review closes threads; a revision answers them and leaves them to the reviewer.
              allowed: options.kind === 'address-review' && ctx.config.review.resolveThreads,
            };
            const resolve = shouldResolve(decision);
            const why = decision.declined
              ? 'Left open: the agent did not make this change.'
              : !decision.changed
                ? `Left open: ${codeSpan(thread.path)} was not changed.`
                : !decision.verified
                  ? 'Left open: verification failed, so this is not confirmed.'
                  : '';
            const body = resolve
              ? `Addressed in ${commitSha}: ${codeSpan(thread.path)} was updated. ${explain(i)}`
              : `Looked at this in ${short}. ${why} ${explain(i)}`;
            return [{ threadId: thread.id, commentId: first.databaseId, body, resolve }];
          });
          const resolved = await answerThreads(github, number, answers);
          // A review's own text (not anchored to a line) gets one reply comment for all of it.
          if (reviews.length > 0)
            await github.createComment(
              number,
              `Re: the review by ${reviews.map((r) => codeSpan(r.author)).join(', ')} — addressed in ${commitSha}. ${inertMarkdown(run.agent.summary, 1_500)}`,
            );
          return {
            status: 'succeeded',
            prNumber: number,
            prUrl: pull.htmlUrl,
            branch: pull.headRef,
            baseRef: pull.baseRef,
            commitSha,
            agent: run.agent,
            verify: run.verify,
            blockedHosts: run.blockedHosts,
            detail: `Pushed ${short} to ${codeSpan(pull.headRef)}, replied in ${threads.length} thread(s), resolved ${resolved.length}.\n\n${inertMarkdown(
              run.agent.summary,
              3_000,
            )}`,
          };
        },
      };
    },
  };
}
