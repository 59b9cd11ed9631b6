import { REPO_CONFIG_PATH } from '../../repo-config/repo-config.js';
import { defineHandler } from '../delivery-dispatch.js';
import type { ScheduleSync } from '../schedule-sync.js';
import { PushEvent, refOf } from '../webhook-payloads.js';

/** A push to the default branch that may have changed the config file re-syncs the schedules. */
export function createPushHandler(sync: ScheduleSync) {
  return defineHandler({
    events: ['push'],
    schema: PushEvent,
    async handle(p, _delivery, log) {
      const defaultBranch = p.repository.default_branch;
      // Only the default branch counts: a branch or PR cannot schedule work.
      if (!defaultBranch || p.ref !== `refs/heads/${defaultBranch}`) return 'ignored';
      const commits = [...p.commits, ...(p.head_commit ? [p.head_commit] : [])];
      const files = (c: (typeof commits)[number]) => [
        ...(c.added ?? []),
        ...(c.modified ?? []),
        ...(c.removed ?? []),
      ];
      // GitHub lists at most 20 commits, and lists can be empty: trust them only when complete.
      const listsComplete =
        p.commits.length > 0 && p.commits.length < 20 && commits.every((c) => files(c).length > 0);
      if (listsComplete && !commits.some((c) => files(c).includes(REPO_CONFIG_PATH))) return 'ignored';
      const changed = await sync.syncRepo(p.installation.id, refOf(p.repository), log, true);
      return changed ? 'scheduled' : 'ignored';
    },
  });
}
