import type { TargetTask } from '../../../src/domain/task.js';
import type { PullData } from '../../../src/github/github-for-worker.js';
import { ownHeadOf } from '../../delivery/fork-delivery.js';
import type { FlowContext } from '../flow-context.js';
import type { ModeOutcome } from './mode.js';

/**
 * The pull request a follow-up mode (repair-ci, update-branch) works on, or why not:
 * it must be open and its head a branch of this repository. The app's token cannot
 * push to a fork, and running a fork's code next to our credentials is what a
 * malicious fork wants; a PR Pullwright delivered to the operator's fork is updated by
 * asking there (not supported by these modes yet), so it is refused with a clear note.
 */
export async function ownOpenPull(ctx: FlowContext<TargetTask>): Promise<PullData | ModeOutcome> {
  const pull = await ctx.github.getPull(ctx.task.number);
  const own = ownHeadOf(pull, ctx.task.repo, {
    forkOwner: ctx.deps.delivery?.forkOwner,
    branchPrefix: ctx.config.pr.branchPrefix,
  });
  if (own?.mode !== 'branch')
    return {
      status: 'refused',
      reason: 'fork',
      detail:
        'This pull request comes from a fork, where Pullwright cannot push; its checks and branch are left to its author.',
    };
  if (pull.state !== 'open')
    return { status: 'skipped', reason: 'closed', detail: 'This pull request is closed; nothing was done.' };
  return pull;
}

export function isPull(value: PullData | ModeOutcome): value is PullData {
  return 'headSha' in value;
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
