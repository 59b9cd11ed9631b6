import type { FlowContext } from './flow-context.js';
import type { ModeOutcome } from './modes/mode.js';
import { repairIfAlreadyRed } from './reconcile-ci.js';

/**
 * After every push to a pull request's branch, what the app needs for its follow-ups
 * (src/queue/follow-up-marks.ts): the head Pullwright pushed, whose request the PR
 * comes from, and whether Pullwright opened it. Only a head recorded here can get an
 * automatic repair: a person's push is never recorded, so it is never repaired.
 * Right after recording, a head whose CI already failed (before this record existed, so the
 * app ignored its webhook) is queued for repair (reconcile-ci.ts).
 * A failure to record is logged, never fails a run whose push already happened.
 */
export async function recordPush(
  ctx: FlowContext,
  outcome: Pick<ModeOutcome, 'commitSha' | 'prNumber' | 'branch' | 'baseRef'>,
  opened: boolean,
): Promise<void> {
  const marks = ctx.deps.followUps;
  const { task } = ctx;
  if (!marks || !outcome.commitSha || outcome.prNumber === undefined || !outcome.branch) return;
  const target = { installationId: task.installationId, repo: task.repo, number: outcome.prNumber };
  try {
    const known = await marks.getPull(target);
    const maintenanceTaskId = task.maintenanceTaskId;
    await marks.recordPush(target, {
      headSha: outcome.commitSha,
      headRef: outcome.branch,
      baseRef: outcome.baseRef ?? ctx.defaultBranch,
      origin: known?.origin ?? {
        requester: task.kind === 'maintenance' ? 'schedule' : task.trigger.actor,
        ...(task.trigger.actorId !== undefined ? { requesterId: task.trigger.actorId } : {}),
        kind: task.kind,
        ...(maintenanceTaskId ? { maintenanceTaskId } : {}),
      },
      openedByPullwright: known?.openedByPullwright ?? opened,
      pushedBy: task.kind,
    });
  } catch (err) {
    ctx.log.warn({ err, pr: outcome.prNumber }, 'Could not record the push for follow-ups');
    return;
  }
  try {
    const repair = await repairIfAlreadyRed(ctx, { number: outcome.prNumber, headSha: outcome.commitSha });
    if (repair === 'enqueued')
      ctx.log.info({ pr: outcome.prNumber }, 'CI was already red on the recorded head: repair queued');
  } catch (err) {
    // The webhooks still report every result that completes from now on.
    ctx.log.warn({ err, pr: outcome.prNumber }, 'Could not check the recorded head for red CI');
  }
}
