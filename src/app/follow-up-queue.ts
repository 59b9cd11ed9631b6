import type { FollowUpReason, FollowUpTrigger, RepoRef, TargetTask } from '../domain/task.js';
import type { Logger } from '../logger.js';
import type { FollowUpMarks, PullMark } from '../queue/follow-up-marks.js';
import type { Target } from '../queue/queue-names.js';
import type { TaskQueue } from '../queue/task-queue.js';
import type { HandledDeliveryOutcome } from './delivery-outcome.js';

/**
 * The one decision "does this red CI result get a repair job", shared by the two places
 * that can see a red result on a Pullwright head first:
 *
 * - the app, on a `check_suite` / `workflow_run` / `status` webhook (src/app/follow-ups.ts);
 * - the worker, right after it records the head it pushed (worker/flows/reconcile-ci.ts): CI
 *   that failed before the mark existed had its webhook ignored (no mark, no repair), so the
 *   recorder asks GitHub for the head's CI state and queues the repair itself.
 *
 * Both go through the same per-head claim (src/queue/follow-up-marks.ts, one Lua script), so
 * when both see the red result exactly one repair is queued. Authority is always the PR's
 * requester from the mark; the webhook or the reconcile is only a signal.
 */

/**
 * CI conclusions that mean "the code is red". Cancelled, skipped, neutral and stale are not
 * failures, and neither is `action_required`: GitHub gives it to a fork pull request's
 * workflow runs waiting for a maintainer's approval (what `delivery: fork` relies on), and
 * to checks whose app wants a person to act. No code change answers either, and a repair
 * would spend a claim and push a commit that needs approval again.
 */
const FAILING = new Set(['failure', 'timed_out', 'startup_failure', 'error']);

export function isFailingConclusion(conclusion: string | null | undefined): boolean {
  return conclusion !== null && conclusion !== undefined && FAILING.has(conclusion.toLowerCase());
}

export const DEFAULT_CI_SETTLE_MS = 15_000;

export function followUpTask(
  target: Target,
  mark: PullMark,
  kind: 'repair-ci' | 'update-branch',
  reason: FollowUpReason,
  headSha?: string,
): TargetTask {
  const { origin } = mark;
  // A maintenance PR has no requester: its task id is the authority (the actor is only a label).
  const trigger: FollowUpTrigger = {
    source: 'follow-up',
    actor: origin.maintenanceTaskId !== undefined ? 'schedule' : origin.requester,
    ...(origin.maintenanceTaskId === undefined && origin.requesterId !== undefined
      ? { actorId: origin.requesterId }
      : {}),
    reason,
    ...(headSha !== undefined ? { headSha } : {}),
  };
  return {
    kind,
    installationId: target.installationId,
    repo: target.repo,
    number: target.number,
    ...(origin.maintenanceTaskId !== undefined ? { maintenanceTaskId: origin.maintenanceTaskId } : {}),
    trigger,
    requestedAt: new Date().toISOString(),
  };
}

export interface FollowUpQueueing {
  taskQueue: Pick<TaskQueue, 'enqueueTask'>;
  /** The app's counters; the worker has none. */
  metrics?: { inc(name: string, labels?: Record<string, string>): void };
}

/** Adds the follow-up job; a PR with a running job gets it when that job ends. */
export async function enqueueFollowUp(
  deps: FollowUpQueueing,
  task: TargetTask,
  deliveryId: string,
  delayMs: number,
  log: Logger,
): Promise<'enqueued' | 'deferred' | 'duplicate'> {
  const result = await deps.taskQueue.enqueueTask(task, {
    deliveryId,
    followUp: { delayMs },
  });
  const reason = task.trigger.source === 'follow-up' ? task.trigger.reason : undefined;
  const fields = { number: task.number, kind: task.kind, jobId: result.jobId, reason };
  if (result.status === 'duplicate') {
    deps.metrics?.inc('pullwright_dedup_hits_total', { kind: task.kind, by: 'target' });
    log.info(fields, 'Follow-up joined the queued job for this pull request');
  } else {
    deps.metrics?.inc('pullwright_jobs_enqueued_total', { kind: task.kind });
    log.info(
      fields,
      result.status === 'deferred' ? 'Follow-up queued after the running job' : 'Follow-up enqueued',
    );
  }
  return result.status;
}

export interface CiResult {
  installationId: number;
  repo: RepoRef;
  headSha: string;
  /** What reported it, for logs: check_suite, workflow_run, status, or reconcile (the worker). */
  via: string;
  /** The PRs the event lists with their current head (empty for forks and `status`). */
  pulls: { number: number; headSha?: string }[];
  log: Logger;
}

export interface RepairIntake extends FollowUpQueueing {
  followUps: Pick<FollowUpMarks, 'findPullByHead' | 'claimRepair' | 'releaseRepair'>;
  /** The repository's effective `ci` settings (its file capped by the operator). */
  ciSettings(installationId: number, repo: RepoRef): Promise<{ repair: boolean; maxRepairs: number }>;
  /** How long the repair job waits so the other suites of the same push can finish. */
  settleMs: number;
}

/**
 * A red CI result on some commit. Only a head Pullwright itself pushed last, on a
 * PR Pullwright opened, in a repo with `ci.repair` on, gets a repair; once per head,
 * `ci.maxRepairs` times per PR (counted across heads), then once more for the
 * "still failing, stopping" report. Everything else is ignored: a person's head,
 * a fork's PR, a PR someone else opened (a writer can still ask `@agent fix ci`).
 */
export async function queueCiRepair(deps: RepairIntake, ci: CiResult): Promise<HandledDeliveryOutcome> {
  const { installationId, repo, headSha, log } = ci;
  const found = await deps.followUps.findPullByHead(installationId, repo, headSha);
  if (found === null) {
    log.debug({ headSha, via: ci.via }, 'Red CI on a head Pullwright did not push');
    return 'ignored';
  }
  const { number, mark } = found;
  const target: Target = { installationId, repo, number };
  if (!mark.openedByPullwright) {
    log.info({ number, headSha }, 'Red CI on a PR Pullwright did not open: no automatic repair');
    return 'ignored';
  }
  // A newer head exists (Pullwright pushed again, or a person pushed since, as the event says).
  const listed = ci.pulls.find((p) => p.number === number);
  if (mark.headSha !== headSha || (listed?.headSha !== undefined && listed.headSha !== headSha)) {
    log.info({ number, headSha, lastPushed: mark.headSha }, 'Red CI on a head that is no longer the PR head');
    return 'ignored';
  }
  const config = await deps.ciSettings(installationId, repo);
  if (!config.repair) {
    log.info({ number, headSha }, 'CI repair is off for this repository');
    return 'ignored';
  }
  const claim = await deps.followUps.claimRepair(target, headSha, { maxRepairs: config.maxRepairs });
  if (claim.status === 'duplicate') {
    deps.metrics?.inc('pullwright_dedup_hits_total', { kind: 'repair-ci', by: 'head' });
    log.info({ number, headSha, via: ci.via }, 'Repair already claimed for this head');
    return 'duplicate';
  }
  log.info(
    {
      number,
      headSha,
      via: ci.via,
      ...(claim.status === 'claimed'
        ? { attempt: claim.attempt, maxAttempts: claim.maxAttempts }
        : { attempts: claim.attempts, maxAttempts: claim.maxAttempts }),
    },
    claim.status === 'claimed' ? 'CI repair claimed' : 'CI repair limit reached: queuing the final report',
  );
  const task = followUpTask(target, mark, 'repair-ci', 'ci-failed', headSha);
  try {
    // One job id per head, whoever saw it first: the claim already made it once.
    const status = await enqueueFollowUp(deps, task, `repair-${headSha}`, deps.settleMs, log);
    if (status === 'duplicate') {
      // Another job (a person's revise, a branch update) is queued on this PR and will push a
      // new head: give the claim back so this head does not count as repaired.
      await deps.followUps.releaseRepair(target, headSha);
      return 'duplicate';
    }
    return 'enqueued';
  } catch (err) {
    await deps.followUps.releaseRepair(target, headSha).catch(() => {});
    throw err;
  }
}
