import { createHash } from 'node:crypto';
import type { Redis } from 'ioredis';
import type { ApplicationFunction, Probot } from 'probot';
import { z } from 'zod';
import type { NetworkMode } from '../config/env.js';
import { RepoRef, type Task } from '../domain/task.js';
import { PullwrightError } from '../errors.js';
import type { GitHubPort, ReactionTarget } from '../github/github-port.js';
import type { Logger } from '../logger.js';
import type { Metrics } from '../metrics/metrics.js';
import { requestAcknowledgement } from '../queue/acknowledgements.js';
import type { MaintenanceCapsStore } from '../queue/maintenance-caps.js';
import type { ParkedDelivery } from '../queue/parked-deliveries.js';
import { keyPrefix, repoSlug } from '../queue/queue-names.js';
import {
  removeInstallationSchedulers,
  removeRepoSchedulers,
  syncRepoSchedulers,
} from '../queue/schedulers.js';
import type { TaskQueue } from '../queue/task-queue.js';
import { getEffectiveRepoConfig } from '../repo-config/effective-repo-config.js';
import { REPO_CONFIG_PATH } from '../repo-config/repo-config.js';
import { createPermissionChecker, type PermissionChecker } from './authorization.js';
import {
  createRepoConfigSource,
  type LoadedRepoConfig,
  type RepoConfigSource,
} from './repo-config-source.js';
import {
  isBot,
  type MatchContext,
  matchComment,
  matchIssueEvent,
  type TriggerDecision,
} from './trigger-matching.js';
import {
  InstallationEvent,
  InstallationRepositoriesEvent,
  IssueCommentEvent,
  IssuesEvent,
  PullRequestClosedEvent,
  PullRequestReviewCommentEvent,
  PullRequestReviewEvent,
  PushEvent,
} from './webhook-payloads.js';

export interface IntakeSettings {
  appSlug: string;
  botLogin: string;
  triggerPhrase: string;
  /** Quiet period that coalesces a burst of review comments into one job. */
  reviewQuietMs: number;
  /** Operator caps; what a repo's file asks above them is listed in the config comment. */
  caps: {
    MAX_NETWORK: NetworkMode;
    ALLOW_WORKFLOW_EDITS: boolean;
    MAX_TURNS?: number;
    MAX_COST_USD?: number;
    MAX_WALL_MINUTES?: number;
  };
}

export interface IntakeDeps {
  settings: IntakeSettings;
  redis: Redis;
  taskQueue: TaskQueue;
  metrics: Metrics;
  log: Logger;
  maintenanceCaps: MaintenanceCapsStore;
  github: GitHubPort;
  /** Keeps a delivery GitHub could not help with for a later replay (absent: answer 5xx). */
  park?: (delivery: ParkedDelivery) => Promise<void>;
}

export interface IntakeApp {
  appFn: ApplicationFunction;
  /** Handles a parked delivery again; throws while GitHub is still away. */
  replay(delivery: ParkedDelivery, log: Logger): Promise<void>;
  /** The webhook event names (`issues`, `push`, …) the app has handlers for, once loaded. */
  handledEvents(): string[];
}

type Outcome =
  | 'enqueued'
  | 'duplicate'
  | 'ignored'
  | 'unauthorized'
  | 'cancelled'
  | 'invalid'
  | 'scheduled'
  | 'parked'
  | 'error';

interface DeliveryContext {
  id: string;
  name: string;
  payload: unknown;
}

const DELIVERY_TTL_SECONDS = 3 * 24 * 60 * 60;

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

function refOf(repository: { name: string; owner: { login: string }; id: number }): RepoRef {
  return { owner: repository.owner.login, name: repository.name, id: repository.id };
}

function splitFullName(fullName: string): RepoRef {
  const [owner = '', name = ''] = fullName.split('/');
  return { owner, name };
}

/**
 * The Probot application: webhook → match → authorize → enqueue → 👀 request.
 * Every handler answers quickly: the only GitHub calls on the way are cache
 * misses (permission, config file); the 👀 is posted by the workers, and a
 * config-problems comment runs after the answer with its errors logged.
 */
export function createIntakeApp(deps: IntakeDeps): IntakeApp {
  const { settings, redis, taskQueue, metrics } = deps;
  const prefix = taskQueue.prefix;
  const kp = keyPrefix(prefix);
  /** Each event's schema and handler, for replaying parked deliveries. */
  const handlers = new Map<
    string,
    {
      schema: z.ZodType;
      handler: (payload: unknown, delivery: DeliveryContext, log: Logger) => Promise<Outcome>;
    }
  >();
  /** Work parked by the app itself (not a GitHub event), replayed like a delivery. */
  const replayOnly = new Map<string, (payload: unknown, log: Logger) => Promise<void>>();

  const appFn = (app: Probot) => {
    const github = deps.github;
    const permissions: PermissionChecker = createPermissionChecker(github, redis, prefix);
    const repoConfigs: RepoConfigSource = createRepoConfigSource(github, redis, prefix);

    const background = (log: Logger, what: string, work: () => Promise<unknown>) => {
      work().catch((err: unknown) => log.warn({ err, what }, 'Background GitHub call failed'));
    };

    const phrasesFor = (config: LoadedRepoConfig): MatchContext => ({
      botLogin: settings.botLogin,
      phrases: [config.config.trigger ?? settings.triggerPhrase, `@${settings.appSlug}`],
    });

    /**
     * Parses the payload and runs the handler with a logger bound to the delivery.
     * When GitHub cannot answer a lookup the handler needs (after the port's own
     * retries), the parsed delivery is parked for a later replay and answered 200.
     */
    function on<S extends z.ZodType>(
      events: string[],
      schema: S,
      handler: (payload: z.infer<S>, delivery: DeliveryContext, log: Logger) => Promise<Outcome>,
    ) {
      for (const event of events) {
        handlers.set(event, {
          schema,
          handler: handler as (payload: unknown, delivery: DeliveryContext, log: Logger) => Promise<Outcome>,
        });
      }
      // Probot's typed event names are a union; we validate the payload ourselves.
      app.on(events as never, async (context: DeliveryContext) => {
        const event = `${context.name}.${(context.payload as { action?: string })?.action ?? ''}`.replace(
          /\.$/,
          '',
        );
        const parsed = schema.safeParse(context.payload);
        if (!parsed.success) {
          metrics.inc('pullwright_webhook_deliveries_total', { event, outcome: 'invalid' });
          deps.log.warn(
            {
              deliveryId: context.id,
              event,
              issues: parsed.error.issues.slice(0, 5).map((i) => `${i.path.join('.')}: ${i.message}`),
            },
            'Webhook payload ignored: unexpected shape',
          );
          return;
        }
        // One child logger per delivery, bound once it is known to be well formed (pino
        // serializes a child's bindings when it is made, so each one costs on the hot path).
        const log = deliveryLog(context.id, event, parsed.data);
        let outcome: Outcome = 'error';
        try {
          outcome = await handler(parsed.data, context, log);
        } catch (err) {
          if (!deps.park || !isGitHubUnavailable(err)) throw err;
          // Parking failing too (Redis away) falls through to a 5xx: GitHub shows the failure.
          await deps.park(
            parkedEntry(err, { event, deliveryId: context.id, name: context.name, payload: parsed.data }),
          );
          log.warn({ err }, 'GitHub unavailable: delivery parked for a later retry');
          outcome = 'parked';
        } finally {
          metrics.inc('pullwright_webhook_deliveries_total', { event, outcome });
        }
      });
    }

    async function act(
      decision: TriggerDecision,
      input: {
        installationId: number;
        repo: RepoRef;
        sender: { login: string };
        delivery: DeliveryContext;
        reactOn: ReactionTarget;
        config: LoadedRepoConfig | null;
        log: Logger;
        requireAuthorization: boolean;
      },
    ): Promise<Outcome> {
      const { installationId, repo, log } = input;
      if (decision.action === 'ignore') {
        log.debug({ reason: decision.reason }, 'Event is not a trigger');
        return 'ignored';
      }
      const number = decision.number;
      if (input.requireAuthorization) {
        const auth = await permissions.isAuthorized(installationId, repo, input.sender.login);
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
      const deliveryKey = `${kp}:delivery:${input.delivery.id}`;
      const first = await redis.set(deliveryKey, '1', 'EX', DELIVERY_TTL_SECONDS, 'NX');
      if (first === null) {
        metrics.inc('pullwright_dedup_hits_total', { kind: decision.kind, by: 'delivery' });
        log.info({ number, kind: decision.kind }, 'Redelivered webhook ignored');
        return 'duplicate';
      }
      const task: Task = {
        kind: decision.kind,
        installationId,
        repo,
        number: decision.number,
        trigger: decision.trigger,
        deliveryId: input.delivery.id,
        requestedAt: new Date().toISOString(),
      };
      let result: Awaited<ReturnType<TaskQueue['enqueueTask']>>;
      try {
        result = await taskQueue.enqueueTask(task, {
          deliveryId: input.delivery.id,
          debounceMs: decision.debounce ? settings.reviewQuietMs : undefined,
        });
      } catch (err) {
        // Let a redelivery try again: the job is not in Redis.
        await redis.del(deliveryKey).catch(() => {});
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
      background(log, 'acknowledgement request', () =>
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
        const problems = configProblems(config);
        if (problems.length > 0) {
          background(log, 'config comment', () =>
            commentConfigProblemsOnce(installationId, repo, decision.number, sha, problems),
          );
        }
      }
      return result.status === 'enqueued' ? 'enqueued' : 'duplicate';
    }

    /** The file's own problems plus what the operator's caps cut back. */
    function configProblems(config: LoadedRepoConfig): string[] {
      return getEffectiveRepoConfig(config, {
        MAX_NETWORK: settings.caps.MAX_NETWORK,
        ALLOW_WORKFLOW_EDITS: settings.caps.ALLOW_WORKFLOW_EDITS,
        MAX_TURNS: settings.caps.MAX_TURNS ?? Number.POSITIVE_INFINITY,
        MAX_COST_USD: settings.caps.MAX_COST_USD ?? Number.POSITIVE_INFINITY,
        MAX_WALL_MINUTES: settings.caps.MAX_WALL_MINUTES ?? Number.POSITIVE_INFINITY,
      }).problems;
    }

    /** One comment per version of a broken file, not one per delivery. */
    async function commentConfigProblemsOnce(
      installationId: number,
      repo: RepoRef,
      number: number,
      sha: string,
      problems: string[],
    ): Promise<void> {
      const key = `${kp}:config-comment:${installationId}/${repoSlug(repo)}:${sha}`;
      const first = await redis.set(key, '1', 'EX', 30 * 24 * 60 * 60, 'NX');
      if (first === null) return;
      const body = [
        `⚠️ \`${REPO_CONFIG_PATH}\` on the default branch has problems; Pullwright uses the defaults (or the operator's limits) for these settings:`,
        '',
        ...problems.map((p) => `- ${p.replace(/[\r\n]+/g, ' ')}`),
        '',
        'See docs/configuration.md for the format. This comment is posted once per version of the file.',
      ].join('\n');
      try {
        await github.createComment(installationId, repo, number, body);
      } catch (err) {
        await redis.del(key);
        throw err;
      }
    }

    /**
     * Re-reads the repo's config from the default branch and makes its schedulers
     * match. With `onlyIfChanged`, nothing is touched when the file's blob sha is
     * the one last synced (a push that did not change it).
     */
    async function syncRepo(
      installationId: number,
      repo: RepoRef,
      log: Logger,
      onlyIfChanged = false,
    ): Promise<boolean> {
      await repoConfigs.invalidate(installationId, repo);
      const config = await repoConfigs.load(installationId, repo);
      const shaKey = `${kp}:config-synced:${installationId}/${repoSlug(repo)}`;
      const sha = config.sha ?? 'none';
      if (onlyIfChanged && (await redis.get(shaKey)) === sha) return false;
      const result = await syncRepoSchedulers(taskQueue, redis, {
        installationId,
        repo,
        tasks: config.config.maintenance,
      });
      await redis.set(shaKey, sha, 'EX', 90 * 24 * 60 * 60);
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

    /**
     * Syncs each repository after the delivery is answered. One repository failing does
     * not stop the others; one GitHub could not help with is parked and synced again
     * later (there is no delivery left to park once the answer is sent).
     */
    function syncAfterAnswer(
      installationId: number,
      repos: RepoRef[],
      delivery: DeliveryContext,
      log: Logger,
    ) {
      background(log, 'installation sync', async () => {
        for (const repo of repos) {
          try {
            await syncRepo(installationId, repo, log);
          } catch (err) {
            const fields = { err, repo: `${repo.owner}/${repo.name}`, installationId };
            if (!deps.park || !isGitHubUnavailable(err)) {
              log.warn(fields, 'Maintenance schedules not synced');
              continue;
            }
            // One parked job per repository and delivery, whatever the repository's name.
            const which = createHash('sha256')
              .update(`${repo.owner}/${repo.name}`)
              .digest('hex')
              .slice(0, 16);
            await deps.park(
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
      });
    }
    replayOnly.set(SYNC_REPOSITORY_EVENT, async (payload, log) => {
      const parsed = SyncRepository.safeParse(payload);
      if (!parsed.success) {
        throw new PullwrightError('input_invalid', 'Parked repository sync does not match its schema', {
          retryable: false,
        });
      }
      await syncRepo(parsed.data.installation.id, parsed.data.repo, log);
    });

    on(['issues.assigned', 'issues.unassigned', 'issues.closed'], IssuesEvent, async (p, delivery, log) => {
      const repo = refOf(p.repository);
      const decision = matchIssueEvent(
        { action: p.action, number: p.issue.number, assignee: p.assignee, sender: p.sender },
        { botLogin: settings.botLogin, phrases: [] },
      );
      return act(decision, {
        installationId: p.installation.id,
        repo,
        sender: p.sender,
        delivery,
        reactOn: { kind: 'issue', number: p.issue.number },
        config: null,
        log,
        // Closing makes any run moot, whoever closes; starting and stopping need write access.
        requireAuthorization: decision.action !== 'cancel' || decision.reason !== 'closed',
      });
    });

    /**
     * A mention in an issue comment, a review body or a review comment: the repo's own
     * trigger phrase comes from its config, and the author must have write access.
     */
    async function actOnMention(
      p: { installation: { id: number }; repository: Parameters<typeof refOf>[0] },
      comment: Parameters<typeof matchComment>[0],
      reactOn: ReactionTarget,
      delivery: DeliveryContext,
      log: Logger,
    ): Promise<Outcome> {
      const repo = refOf(p.repository);
      const config = await repoConfigs.load(p.installation.id, repo);
      return act(matchComment(comment, phrasesFor(config)), {
        installationId: p.installation.id,
        repo,
        sender: comment.author,
        delivery,
        reactOn,
        config,
        log,
        requireAuthorization: true,
      });
    }

    on(['issue_comment.created', 'issue_comment.edited'], IssueCommentEvent, async (p, delivery, log) => {
      if (p.action !== 'created' || !p.comment.body?.includes('@')) return 'ignored';
      if (isBot(p.sender, settings.botLogin)) return 'ignored';
      return actOnMention(
        p,
        {
          source: 'issue_comment',
          action: p.action,
          number: p.issue.number,
          isPullRequest: p.issue.pull_request !== undefined && p.issue.pull_request !== null,
          body: p.comment.body,
          commentId: p.comment.id,
          author: p.comment.user,
        },
        { kind: 'issue_comment', commentId: p.comment.id },
        delivery,
        log,
      );
    });

    on(['pull_request_review.submitted'], PullRequestReviewEvent, async (p, delivery, log) => {
      if (!p.review.body?.includes('@') || isBot(p.sender, settings.botLogin)) return 'ignored';
      return actOnMention(
        p,
        {
          source: 'review',
          action: p.action,
          number: p.pull_request.number,
          isPullRequest: true,
          body: p.review.body,
          author: p.review.user,
        },
        // GitHub has no reactions on reviews; the PR itself gets the 👀.
        { kind: 'issue', number: p.pull_request.number },
        delivery,
        log,
      );
    });

    on(['pull_request_review_comment.created'], PullRequestReviewCommentEvent, async (p, delivery, log) => {
      if (!p.comment.body?.includes('@') || isBot(p.sender, settings.botLogin)) return 'ignored';
      return actOnMention(
        p,
        {
          source: 'review_comment',
          action: p.action,
          number: p.pull_request.number,
          isPullRequest: true,
          body: p.comment.body,
          commentId: p.comment.id,
          author: p.comment.user,
        },
        { kind: 'review_comment', commentId: p.comment.id },
        delivery,
        log,
      );
    });

    on(['pull_request.closed'], PullRequestClosedEvent, async (p, _delivery, log) => {
      const repo = refOf(p.repository);
      await deps.maintenanceCaps.recordClosed(repo, p.pull_request.number);
      const result = await taskQueue.cancelTarget(
        { installationId: p.installation.id, repo, number: p.pull_request.number },
        'closed',
        p.sender.login,
      );
      if (result.status !== 'none') {
        metrics.inc('pullwright_cancellations_total', { result: result.status });
        log.info({ result: result.status, number: p.pull_request.number }, 'Cancel requested');
        return 'cancelled';
      }
      return 'ignored';
    });

    on(['push'], PushEvent, async (p, _delivery, log) => {
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
      const changed = await syncRepo(p.installation.id, refOf(p.repository), log, true);
      return changed ? 'scheduled' : 'ignored';
    });

    on(['installation.created', 'installation.deleted'], InstallationEvent, async (p, delivery, log) => {
      const installationId = p.installation.id;
      if (p.action === 'deleted') {
        const removed = await removeInstallationSchedulers(taskQueue, redis, installationId);
        log.info({ installationId, removed: removed.length }, 'Installation removed: schedules deleted');
        return 'scheduled';
      }
      if (p.action !== 'created') return 'ignored';
      // Many repositories can take longer than GitHub's 10 s: sync after answering.
      syncAfterAnswer(
        installationId,
        (p.repositories ?? []).map((r) => splitFullName(r.full_name)),
        delivery,
        log,
      );
      return 'scheduled';
    });

    on(
      ['installation_repositories.added', 'installation_repositories.removed'],
      InstallationRepositoriesEvent,
      async (p, delivery, log) => {
        const installationId = p.installation.id;
        for (const r of p.repositories_removed) {
          await removeRepoSchedulers(taskQueue, redis, installationId, splitFullName(r.full_name));
        }
        syncAfterAnswer(
          installationId,
          p.repositories_added.map((r) => splitFullName(r.full_name)),
          delivery,
          log,
        );
        return 'scheduled';
      },
    );
  };

  function deliveryLog(deliveryId: string, event: string, payload: unknown): Logger {
    const data = payload as {
      installation?: { id: number };
      repository?: { name: string; owner: { login: string } };
    };
    return deps.log.child({
      deliveryId,
      event,
      installationId: data.installation?.id,
      repo: data.repository ? `${data.repository.owner.login}/${data.repository.name}` : undefined,
    });
  }

  return {
    appFn,
    handledEvents: () => [...new Set([...handlers.keys()].map((e) => e.split('.')[0] ?? e))],
    async replay(delivery, log) {
      const own = replayOnly.get(delivery.event);
      if (own) {
        await own(delivery.payload, log);
        log.info({ parkedAt: delivery.parkedAt }, 'Parked work handled');
        return;
      }
      const entry = handlers.get(delivery.event);
      if (!entry) {
        throw new PullwrightError('internal', `No handler for parked event ${delivery.event}`, {
          retryable: false,
        });
      }
      const parsed = entry.schema.safeParse(delivery.payload);
      if (!parsed.success) {
        throw new PullwrightError('input_invalid', 'Parked payload does not match its schema', {
          retryable: false,
        });
      }
      const outcome = await entry.handler(
        parsed.data,
        { id: delivery.deliveryId, name: delivery.name, payload: parsed.data },
        log,
      );
      log.info({ outcome, parkedAt: delivery.parkedAt }, 'Parked delivery handled');
    },
  };
}

/** What parking keeps: the work, when it was parked, and why (the error's message, capped). */
function parkedEntry(err: unknown, work: Omit<ParkedDelivery, 'parkedAt' | 'reason'>): ParkedDelivery {
  return {
    ...work,
    parkedAt: new Date().toISOString(),
    reason: err instanceof Error ? err.message.slice(0, 500) : 'GitHub unavailable',
  };
}

/** GitHub could not answer (outage, rate limit): worth handling the delivery again later. */
function isGitHubUnavailable(err: unknown): boolean {
  return (
    err instanceof PullwrightError &&
    err.retryable &&
    (err.code === 'upstream_unavailable' || err.code === 'rate_limited')
  );
}
