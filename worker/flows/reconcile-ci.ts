import type { HandledDeliveryOutcome } from '../../src/app/delivery-outcome.js';
import { DEFAULT_CI_SETTLE_MS, isFailingConclusion, queueCiRepair } from '../../src/app/follow-up-queue.js';
import type { FlowContext } from './flow-context.js';

/**
 * The worker's half of "a red CI on a Pullwright head is repaired exactly once" (issue 15).
 *
 * The app queues a repair when a red CI webhook names a head the worker recorded
 * (src/queue/follow-up-marks.ts). CI can fail before that record exists: the worker
 * pushes, then opens the PR and only then records the head, and a fast-failing check
 * reports in between; its webhook finds no mark and is ignored. So right after recording
 * a head, the recorder asks GitHub for that head's CI state and, when a check suite (not
 * Pullwright's own) or a commit status is already completed red, queues the repair through
 * the app's own decision (`queueCiRepair`): same mark, same per-head claim, same job id. A
 * red result seen by both the webhook and this reconcile is one claim, hence one repair.
 *
 * Ordering: GitHub sends a completion webhook after the result is readable through the API.
 * A webhook that ran before the mark existed therefore left a result this read sees; one
 * that runs after the mark claims on its own. A suite still running reports by webhook
 * once it completes, when the mark exists.
 */
export async function repairIfAlreadyRed(
  ctx: FlowContext,
  pushed: { number: number; headSha: string },
): Promise<HandledDeliveryOutcome | 'not red'> {
  const marks = ctx.deps.followUps;
  if (!marks?.findPullByHead || !marks.releaseRepair || !marks.tasks) return 'ignored';
  if (!ctx.config.ci.repair) return 'ignored';
  // Only a PR Pullwright opened is repaired automatically: no GitHub reads for anything else.
  const found = await marks.findPullByHead(ctx.task.installationId, ctx.task.repo, pushed.headSha);
  if (!found?.mark.openedByPullwright) return 'ignored';
  const ownSlug = ctx.deps.bot.login.replace(/\[bot\]$/, '');
  const [suites, combined] = await Promise.all([
    ctx.github.listCheckSuitesForRef(pushed.headSha),
    ctx.github.getCombinedStatus(pushed.headSha),
  ]);
  // Pullwright's own check run lives in its own suite: its outcome is the run's, not CI's.
  const ci = suites.filter((s) => s.appSlug !== ownSlug);
  const red =
    ci.some((s) => s.status === 'completed' && isFailingConclusion(s.conclusion)) ||
    combined.statuses.some((s) => isFailingConclusion(s.state));
  if (!red) return 'not red';
  const pending =
    ci.some((s) => s.status !== 'completed' && s.latestCheckRunsCount > 0) ||
    combined.statuses.some((s) => s.state === 'pending');
  const { task } = ctx;
  const log = ctx.log.child({ pr: pushed.number });
  return queueCiRepair(
    {
      followUps: {
        findPullByHead: marks.findPullByHead,
        claimRepair: marks.claimRepair,
        releaseRepair: marks.releaseRepair,
      },
      taskQueue: marks.tasks,
      // The webhooks of suites still running would have waited for the rest of the push; so does this.
      settleMs: pending ? DEFAULT_CI_SETTLE_MS : 0,
      ciSettings: async () => ctx.config.ci,
    },
    {
      installationId: task.installationId,
      repo: task.repo,
      headSha: pushed.headSha,
      via: 'reconcile',
      pulls: [{ number: pushed.number, headSha: pushed.headSha }],
      log,
    },
  );
}
