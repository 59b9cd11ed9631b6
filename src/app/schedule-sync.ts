import { createHash } from 'node:crypto';
import { z } from 'zod';
import { RepoRef } from '../domain/task.js';
import { PullwrightError } from '../errors.js';
import type { Logger } from '../logger.js';
import { syncRepoSchedulers } from '../queue/schedulers.js';
import type { DeliveryContext } from './delivery-outcome.js';
import type { IntakeContext } from './intake-context.js';
import { isGitHubUnavailable, parkedEntry } from './parked-work.js';

/**
 * Not a GitHub event: one repository whose schedules an installation sync could
 * not make because GitHub was away, parked like a delivery and synced again
 * later. Without it a GitHub blip while the app was being installed left that
 * repository's maintenance unscheduled until someone next pushed its config.
 */
export const SYNC_REPOSITORY_EVENT = 'pullwright.sync_repository';
const SyncRepository = z.object({
  installation: z.object({ id: z.number().int().positive() }),
  repo: RepoRef,
});

export interface ScheduleSync {
  /**
   * Re-reads the repo's config from the default branch and makes its schedulers
   * match. With `onlyIfChanged`, nothing is touched when the file's blob sha is
   * the one last synced (a push that did not change it). True when it synced.
   */
  syncRepo(installationId: number, repo: RepoRef, log: Logger, onlyIfChanged?: boolean): Promise<boolean>;
  /**
   * Syncs each repository after the delivery is answered. One repository failing does
   * not stop the others; one GitHub could not help with is parked and synced again
   * later (there is no delivery left to park once the answer is sent).
   */
  syncAfterAnswer(installationId: number, repos: RepoRef[], delivery: DeliveryContext, log: Logger): void;
  /** Replays a parked `SYNC_REPOSITORY_EVENT`; throws while GitHub is still away. */
  replay(payload: unknown, log: Logger): Promise<void>;
}

export function createScheduleSync(ctx: IntakeContext): ScheduleSync {
  async function syncRepo(installationId: number, repo: RepoRef, log: Logger, onlyIfChanged = false) {
    await ctx.repoConfigs.invalidate(installationId, repo);
    const config = await ctx.repoConfigs.load(installationId, repo);
    const sha = config.sha ?? 'none';
    if (onlyIfChanged && (await ctx.configMarks.getSyncedSha(installationId, repo)) === sha) return false;
    const result = await syncRepoSchedulers(ctx.taskQueue, ctx.redis, {
      installationId,
      repo,
      tasks: config.config.maintenance,
    });
    await ctx.configMarks.recordSyncedSha(installationId, repo, sha);
    // The dashboard lists the tasks: a changed file adds, removes or closes it (after the answer).
    ctx.background(log, 'maintenance dashboard', () => ctx.refreshDashboard(installationId, repo));
    log.info(
      {
        repo: `${repo.owner}/${repo.name}`,
        installationId,
        upserted: result.upserted.length,
        removed: result.removed.length,
        problems: [...config.problems, ...result.problems],
      },
      'Maintenance schedules synced',
    );
    return true;
  }

  async function syncOrPark(installationId: number, repo: RepoRef, delivery: DeliveryContext, log: Logger) {
    try {
      await syncRepo(installationId, repo, log);
    } catch (err) {
      const fields = { err, repo: `${repo.owner}/${repo.name}`, installationId };
      if (!ctx.park || !isGitHubUnavailable(err)) {
        log.warn(fields, 'Maintenance schedules not synced');
        return;
      }
      // One parked job per repository and delivery, whatever the repository's name.
      const which = createHash('sha256').update(`${repo.owner}/${repo.name}`).digest('hex').slice(0, 16);
      await ctx.park(
        parkedEntry(err, {
          event: SYNC_REPOSITORY_EVENT,
          deliveryId: `${delivery.id}-sync-${which}`,
          name: SYNC_REPOSITORY_EVENT,
          payload: { installation: { id: installationId }, repo },
        }),
      );
      log.warn(fields, 'GitHub unavailable: repository sync parked for a later retry');
    }
  }

  return {
    syncRepo,
    syncAfterAnswer(installationId, repos, delivery, log) {
      ctx.background(log, 'installation sync', async () => {
        for (const repo of repos) await syncOrPark(installationId, repo, delivery, log);
      });
    },
    async replay(payload, log) {
      const parsed = SyncRepository.safeParse(payload);
      if (!parsed.success) {
        throw new PullwrightError('input_invalid', 'Parked repository sync does not match its schema', {
          retryable: false,
        });
      }
      await syncRepo(parsed.data.installation.id, parsed.data.repo, log);
    },
  };
}
