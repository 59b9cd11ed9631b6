import { REPO_CONFIG_PATH } from '../../repo-config/repo-config.js';
import { defineHandler } from '../delivery-dispatch.js';
import type { HandledDeliveryOutcome } from '../delivery-outcome.js';
import { queueBranchUpdates } from '../follow-ups.js';
import type { IntakeContext } from '../intake-context.js';
import type { ScheduleSync } from '../schedule-sync.js';
import { PushEvent, refOf } from '../webhook-payloads.js';

const SHA = /^[0-9a-f]{40}([0-9a-f]{24})?$/;

/**
 * A push to any branch may have moved the base of Pullwright's open PRs: those that now
 * conflict (or fall behind, with `updateBranch: always-behind`) get an `update-branch`
 * follow-up, checked after the answer (GitHub computes mergeability asynchronously).
 * A push to the default branch that may have changed the config file re-syncs the schedules.
 */
export function createPushHandler(ctx: IntakeContext, sync: ScheduleSync) {
  return defineHandler({
    events: ['push'],
    schema: PushEvent,
    async handle(p, _delivery, log) {
      const repo = refOf(p.repository);
      let outcome: HandledDeliveryOutcome = 'ignored';
      const branch = p.ref.startsWith('refs/heads/') ? p.ref.slice('refs/heads/'.length) : null;
      if (branch !== null && p.deleted !== true && p.after !== undefined && SHA.test(p.after)) {
        const baseSha = p.after;
        // Only a cheap Redis read before the answer: most pushes are not to a base of ours.
        const pulls = await ctx.followUps.listPullsOnBase(p.installation.id, repo, branch);
        if (pulls.length > 0) {
          ctx.background(log, 'branch updates', () =>
            queueBranchUpdates(ctx, {
              installationId: p.installation.id,
              repo,
              baseRef: branch,
              baseSha,
              log,
            }),
          );
          outcome = 'scheduled';
        }
      }
      const defaultBranch = p.repository.default_branch;
      // Only the default branch counts: a branch or PR cannot schedule work.
      if (!defaultBranch || branch !== defaultBranch) return outcome;
      const commits = [...p.commits, ...(p.head_commit ? [p.head_commit] : [])];
      const files = (c: (typeof commits)[number]) => [
        ...(c.added ?? []),
        ...(c.modified ?? []),
        ...(c.removed ?? []),
      ];
      // GitHub lists at most 20 commits, and lists can be empty: trust them only when complete.
      const listsComplete =
        p.commits.length > 0 && p.commits.length < 20 && commits.every((c) => files(c).length > 0);
      if (listsComplete && !commits.some((c) => files(c).includes(REPO_CONFIG_PATH))) return outcome;
      const changed = await sync.syncRepo(p.installation.id, repo, log, true);
      return changed ? 'scheduled' : outcome;
    },
  });
}
