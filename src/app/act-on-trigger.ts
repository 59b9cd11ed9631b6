import type { ApprovedText, RepoRef, TargetTask } from '../domain/task.js';
import type { ReactionTarget } from '../github/github-port.js';
import type { Logger } from '../logger.js';
import { requestAcknowledgement } from '../queue/acknowledgements.js';
import { claimDelivery, releaseDelivery } from '../queue/delivery-dedup.js';
import type { EnqueueResult } from '../queue/task-queue.js';
import { commentConfigProblemsOnce, configProblems } from './config-problems-comment.js';
import type { DeliveryContext, HandledDeliveryOutcome } from './delivery-outcome.js';
import type { IntakeContext } from './intake-context.js';
import type { LoadedRepoConfig } from './repo-config-source.js';
import type { TriggerDecision } from './trigger-matching.js';

export interface TriggerInput {
  installationId: number;
  repo: RepoRef;
  sender: { login: string };
  delivery: DeliveryContext;
  reactOn: ReactionTarget;
  config: LoadedRepoConfig | null;
  log: Logger;
  requireAuthorization: boolean;
  /** The or PR's text in this event: what the sender approves by triggering. */
  approved?: ApprovedText;
}

/**
 * What a trigger decision leads to: authorize the sender, then cancel, or enqueue
 * once per delivery and ask for the 👀. The only GitHub call on the way is a
 * permission lookup on a cache miss; the 👀 and a config-problems comment come
 * after the answer.
 */
export async function actOnTrigger(
  ctx: IntakeContext,
  decision: TriggerDecision,
  input: TriggerInput,
): Promise<HandledDeliveryOutcome> {
  const { metrics, taskQueue, redis, prefix } = ctx;
  const { installationId, repo, log } = input;
  if (decision.action === 'ignore') {
    log.debug({ reason: decision.reason }, 'Event is not a trigger');
    return 'ignored';
  }
  const number = decision.number;
  if (input.requireAuthorization) {
    const auth = await ctx.permissions.isAuthorized(installationId, repo, input.sender.login);
    if (!auth.ok) {
      // No reply: answering every unauthorized mention would let anyone make the bot spam.
      metrics.inc('pullwright_authorization_refusals_total');
      log.info(
        { number, sender: input.sender.login, permission: auth.permission },
        'Trigger refused: sender lacks write permission',
      );
      return 'unauthorized';
    }
  }
  if (decision.action === 'cancel') {
    const result = await taskQueue.cancelTarget(
      { installationId, repo, number: decision.number },
      decision.reason,
      input.sender.login,
    );
    metrics.inc('pullwright_cancellations_total', { result: result.status });
    log.info({ number, reason: decision.reason, result: result.status }, 'Cancel requested');
    return 'cancelled';
  }
  // A redelivered webhook is the same request: at most one job per delivery id, ever.
  if (!(await claimDelivery(redis, prefix, input.delivery.id))) {
    metrics.inc('pullwright_dedup_hits_total', { kind: decision.kind, by: 'delivery' });
    log.info({ number, kind: decision.kind }, 'Redelivered webhook ignored');
    return 'duplicate';
  }
  const task: TargetTask = {
    kind: decision.kind,
    installationId,
    repo,
    number: decision.number,
    trigger: decision.trigger,
    deliveryId: input.delivery.id,
    requestedAt: new Date().toISOString(),
    ...(input.approved ? { approved: input.approved } : {}),
  };
  let result: EnqueueResult;
  try {
    result = await taskQueue.enqueueTask(task, {
      deliveryId: input.delivery.id,
      debounceMs: decision.debounce ? ctx.settings.reviewQuietMs : undefined,
    });
  } catch (err) {
    // Let a redelivery try again: the job is not in Redis.
    await releaseDelivery(redis, prefix, input.delivery.id).catch(() => {});
    throw err;
  }
  if (result.status === 'duplicate') {
    metrics.inc('pullwright_dedup_hits_total', { kind: decision.kind, by: 'target' });
    log.info(
      { number, kind: decision.kind, jobId: result.jobId },
      'Trigger joined the live job for this target',
    );
  } else {
    metrics.inc('pullwright_jobs_enqueued_total', { kind: decision.kind });
    log.info({ number, kind: decision.kind, jobId: result.jobId }, 'Job enqueued');
  }
  // After the job is safely in Redis: the workers' acknowledger posts the 👀
  // (see acknowledgements.ts for why the app does not call GitHub itself).
  ctx.background(log, 'acknowledgement request', () =>
    requestAcknowledgement(redis, prefix, {
      installationId,
      repo,
      target: input.reactOn,
      requestedAt: task.requestedAt,
    }),
  );
  const config = input.config;
  const sha = config?.sha;
  if (config && sha) {
    const problems = configProblems(ctx, config);
    if (problems.length > 0) {
      ctx.background(log, 'config comment', () =>
        commentConfigProblemsOnce(ctx, { installationId, repo, number: decision.number, sha, problems }),
      );
    }
  }
  return result.status === 'enqueued' ? 'enqueued' : 'duplicate';
}
