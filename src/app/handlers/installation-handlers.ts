import { removeInstallationSchedulers, removeRepoSchedulers } from '../../queue/schedulers.js';
import { defineHandler, type HandlerSpec } from '../delivery-dispatch.js';
import type { IntakeContext } from '../intake-context.js';
import type { ScheduleSync } from '../schedule-sync.js';
import { InstallationEvent, InstallationRepositoriesEvent, splitFullName } from '../webhook-payloads.js';

/**
 * Installing the app (or adding repositories) schedules each repository's
 * maintenance; uninstalling (or removing them) deletes exactly the schedules made,
 * so nothing stale keeps firing and spending.
 */
export function createInstallationHandlers(ctx: IntakeContext, sync: ScheduleSync): HandlerSpec[] {
  const { taskQueue, redis } = ctx;
  return [
    defineHandler({
      events: ['installation.created', 'installation.deleted'],
      schema: InstallationEvent,
      async handle(p, delivery, log) {
        const installationId = p.installation.id;
        if (p.action === 'deleted') {
          const removed = await removeInstallationSchedulers(taskQueue, redis, installationId);
          log.info({ installationId, removed: removed.length }, 'Installation removed: schedules deleted');
          return 'scheduled';
        }
        if (p.action !== 'created') return 'ignored';
        // Many repositories can take longer than GitHub's 10 s: sync after answering.
        sync.syncAfterAnswer(
          installationId,
          (p.repositories ?? []).map((r) => splitFullName(r.full_name)),
          delivery,
          log,
        );
        return 'scheduled';
      },
    }),
    defineHandler({
      events: ['installation_repositories.added', 'installation_repositories.removed'],
      schema: InstallationRepositoriesEvent,
      async handle(p, delivery, log) {
        const installationId = p.installation.id;
        for (const r of p.repositories_removed) {
          await removeRepoSchedulers(taskQueue, redis, installationId, splitFullName(r.full_name));
        }
        sync.syncAfterAnswer(
          installationId,
          p.repositories_added.map((r) => splitFullName(r.full_name)),
          delivery,
          log,
        );
        return 'scheduled';
      },
    }),
  ];
}
