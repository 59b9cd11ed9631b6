import type { TargetTask } from '../../../src/domain/task.js';
import type { PullData } from '../../../src/github/github-for-worker.js';
import { type DeliveryTarget, ownHeadOf } from '../../delivery/fork-delivery.js';
import type { FlowContext } from '../flow-context.js';
import { codeSpan } from '../inert-markdown.js';
import { deliveryTargetOf } from '../mode-helpers.js';
import type { ModeOutcome } from './mode.js';

/**
 * The pull request a follow-up mode (repair-ci, update-branch) works on, and where its
 * pushes go, or why not. It must be open, and its head must be Pullwright's to push to:
 *
 * - a branch of this repository (`branch`): pushed with the repository's token;
 * - a branch Pullwright made in the operator's fork (`delivery: fork`): pushed to that fork
 *   with the fork's token, never to a branch of this repository, where the change would run
 *   the repository's workflows with its secrets before anyone approved it (the reason a
 *   repository chooses fork delivery). The head is fetched as `refs/pull/N/head`.
 *
 * Anyone else's fork is refused: the app's token cannot push there, and running on a
 * stranger's code next to our credentials is what a malicious fork wants. The refusal says
 * what the writer who asked can do instead.
 */
export interface OwnPull {
  pull: PullData;
  /** Set for Pullwright's own fork: where to push, and the ref that holds the head. */
  fork?: { target: DeliveryTarget; headRef: string };
}

function contributorForkRefusal(ctx: FlowContext<TargetTask>, pull: PullData): ModeOutcome {
  const where = pull.headRepoFullName ? ` (${codeSpan(pull.headRepoFullName)})` : '';
  const local = `${ctx.config.pr.branchPrefix}pr-${pull.number}`;
  const copy = `\`git fetch origin pull/${pull.number}/head:${local} && git push origin ${local}\``;
  const update = ctx.task.kind === 'update-branch';
  const ask = update ? '`@agent update`' : '`@agent fix ci`';
  const author = update
    ? `Ask its author to merge ${codeSpan(pull.baseRef)} into their branch, or use **Update branch** on this pull request (GitHub allows it when the author lets maintainers edit)`
    : "Ask its author to fix the failing checks (each check's log is in this pull request's Checks tab)";
  return {
    status: 'refused',
    reason: 'fork',
    detail: [
      `This pull request's branch is in its author's fork${where}. Pullwright can only push to this repository and to its own fork, so it did not ${update ? 'update the branch' : 'repair the checks'}, and it never runs automatically on a contributor's pull request.`,
      '',
      'What you can do:',
      `- ${author};`,
      `- or copy the branch into this repository (${copy}), open a pull request from ${codeSpan(local)} and ask ${ask} there.`,
    ].join('\n'),
  };
}

export async function ownOpenPull(ctx: FlowContext<TargetTask>): Promise<OwnPull | ModeOutcome> {
  const pull = await ctx.github.getPull(ctx.task.number);
  const own = ownHeadOf(pull, ctx.task.repo, {
    forkOwner: ctx.deps.delivery?.forkOwner,
    branchPrefix: ctx.config.pr.branchPrefix,
  });
  if (!own) return contributorForkRefusal(ctx, pull);
  if (pull.state !== 'open')
    return { status: 'skipped', reason: 'closed', detail: 'This pull request is closed; nothing was done.' };
  if (own.mode === 'branch') return { pull };
  // The fork's token joins the secrets scrubbed from reports (deliveryTargetOf).
  return {
    pull,
    fork: { target: await deliveryTargetOf(ctx, own), headRef: `refs/pull/${pull.number}/head` },
  };
}

export function isOwnPull(value: OwnPull | ModeOutcome): value is OwnPull {
  return 'pull' in value;
}

export function agentPullOf(pull: PullData, text: { title: string; body: string }) {
  return {
    number: pull.number,
    title: text.title,
    body: text.body,
    baseRef: pull.baseRef,
    headRef: pull.headRef,
  };
}

/** Whose request a follow-up serves, for its tracking comment's title. */
export function onBehalfOf(task: TargetTask): string {
  return task.maintenanceTaskId !== undefined
    ? `maintenance task ${task.maintenanceTaskId.replace(/[^\w.-]/g, '_')}`
    : `@${task.trigger.actor}`;
}
