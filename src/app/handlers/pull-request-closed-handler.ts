import { defineHandler } from '../delivery-dispatch.js';
import type { IntakeContext } from '../intake-context.js';
import { PullRequestClosedEvent, refOf } from '../webhook-payloads.js';

/**
 * A closed PR: the maintenance caps learn it was closed (a person said no to that
 * change), and a queued or running job on it is cancelled, whoever closed it.
 */
export function createPullRequestClosedHandler(ctx: IntakeContext) {
  return defineHandler({
    events: ['pull_request.closed'],
    schema: PullRequestClosedEvent,
    async handle(p, _delivery, log) {
      const repo = refOf(p.repository);
      const taskId = await ctx.maintenanceCaps.recordClosed(repo, p.pull_request.number);
      // A maintenance PR closed: its task's "open PR" on the dashboard is gone.
      if (taskId !== null) {
        ctx.background(log, 'maintenance dashboard', () => ctx.refreshDashboard(p.installation.id, repo));
      }
      // No follow-ups on a closed or merged PR (its CI and its base may still move).
      await ctx.followUps.forgetPull({
        installationId: p.installation.id,
        repo,
        number: p.pull_request.number,
      });
      const result = await ctx.taskQueue.cancelTarget(
        { installationId: p.installation.id, repo, number: p.pull_request.number },
        'closed',
        p.sender.login,
      );
      if (result.status !== 'none') {
        ctx.metrics.inc('pullwright_cancellations_total', { result: result.status });
        log.info({ result: result.status, number: p.pull_request.number }, 'Cancel requested');
        return 'cancelled';
      }
      return 'ignored';
    },
  });
}
