import type { MaintenanceTask } from '../../domain/task.js';
import { claimDelivery, releaseDelivery } from '../../queue/delivery-dedup.js';
import { createMaintenanceRuns } from '../../queue/maintenance-runs.js';
import { defineHandler } from '../delivery-dispatch.js';
import type { HandledDeliveryOutcome } from '../delivery-outcome.js';
import type { IntakeContext } from '../intake-context.js';
import { DASHBOARD_MARKER, newlyTicked } from '../maintenance-dashboard.js';
import { isBot } from '../trigger-matching.js';
import { IssueEditedEvent, refOf } from '../webhook-payloads.js';

/**
 * A "run now" tick on the maintenance dashboard issue queues that task. The edit must be
 * on the bot's own dashboard issue, by a person with write access (bots, including the app
 * refreshing the issue, never count), and change nothing but checkboxes: the previous body
 * (`changes.body.from`) is compared with the new one, so only boxes ticked by this edit
 * count, and a rewrite of the issue is not a request. The task id must still be in the
 * config; the worker re-checks it and the writer's access before running.
 */
export function createDashboardHandler(ctx: IntakeContext) {
  const runs = createMaintenanceRuns(ctx.redis, ctx.prefix);
  return defineHandler({
    events: ['issues.edited'],
    schema: IssueEditedEvent,
    async handle(p, delivery, log): Promise<HandledDeliveryOutcome> {
      const { issue, sender } = p;
      const author = issue.user?.login.toLowerCase();
      if (author !== ctx.settings.botLogin.toLowerCase() || !issue.body?.includes(DASHBOARD_MARKER)) {
        return 'ignored';
      }
      if (isBot(sender, ctx.settings.botLogin)) return 'ignored';
      const before = p.changes?.body?.from;
      if (before === undefined) return 'ignored';
      const ticked = newlyTicked(before, issue.body);
      if (ticked === null || ticked.length === 0) {
        log.debug({ number: issue.number }, 'Dashboard edit ticked no box');
        return 'ignored';
      }
      const installationId = p.installation.id;
      const repo = refOf(p.repository);
      const auth = await ctx.permissions.isAuthorized(installationId, repo, sender.login);
      if (!auth.ok) {
        ctx.metrics.inc('pullwright_authorization_refusals_total');
        log.info(
          { sender: sender.login, permission: auth.permission },
          'Dashboard tick refused: no write permission',
        );
        return 'unauthorized';
      }
      const config = await ctx.repoConfigs.load(installationId, repo);
      if (!config.config.dashboard) return 'ignored';
      if (!(await claimDelivery(ctx.redis, ctx.prefix, delivery.id))) return 'duplicate';
      let outcome: HandledDeliveryOutcome = 'ignored';
      try {
        for (const taskId of ticked) {
          const declared = config.config.maintenance.find((t) => t.id === taskId);
          if (!declared) {
            log.info({ taskId }, 'Dashboard tick names a task the config does not declare');
            continue;
          }
          const task: MaintenanceTask = {
            kind: 'maintenance',
            installationId,
            repo,
            maintenanceTaskId: taskId,
            trigger: {
              source: 'follow-up',
              reason: 'dashboard',
              actor: sender.login,
              actorId: sender.id,
              instruction: declared.prompt,
            },
            deliveryId: delivery.id,
            requestedAt: new Date().toISOString(),
          };
          const result = await ctx.taskQueue.enqueueTask(task, { deliveryId: delivery.id });
          if (result.status === 'enqueued') {
            ctx.metrics.inc('pullwright_jobs_enqueued_total', { kind: 'maintenance' });
            await runs.record(installationId, repo, taskId, {
              outcome: 'queued',
              startedAt: task.requestedAt,
              jobId: result.jobId,
              requestedBy: sender.login,
            });
            outcome = 'enqueued';
          } else {
            ctx.metrics.inc('pullwright_dedup_hits_total', { kind: 'maintenance', by: 'target' });
            if (outcome === 'ignored') outcome = 'duplicate';
          }
          log.info(
            { taskId, jobId: result.jobId, status: result.status },
            'Dashboard tick: maintenance task queued',
          );
        }
      } catch (err) {
        await releaseDelivery(ctx.redis, ctx.prefix, delivery.id).catch(() => {});
        throw err;
      }
      // Unticks the box and shows the task as queued.
      ctx.background(log, 'maintenance dashboard', () => ctx.refreshDashboard(installationId, repo));
      return outcome;
    },
  });
}
