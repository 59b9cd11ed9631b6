import type { Redis } from 'ioredis';
import { z } from 'zod';
import { GitSha, type RepoRef, TaskKind } from '../domain/task.js';
import { createCiReruns, type RerunState } from './ci-reruns.js';
import { keyPrefix, repoSlug, type Target, targetId } from './queue-names.js';
import { createTaskQueue, type TaskQueue } from './task-queue.js';

/**
 * What the app needs to follow a pull request through after Pullwright pushed to
 * it (issue 15): which head it pushed last, whose request the PR comes from, and
 * how many CI repairs it has had. The worker writes it after every push; the app
 * reads it on `check_suite` / `workflow_run` / `status` / `push` webhooks.
 *
 * Threats it answers:
 * - **A person's head repaired or a stranger's PR touched.** A repair is queued
 *   only for the head SHA Pullwright pushed last on a PR Pullwright opened; a
 *   commit nobody recorded (a person's push, a fork PR) has no mark here.
 * - **Repair loops.** Repairs are counted per PR across heads and claimed once per
 *   head SHA, atomically (one Lua script), so redelivered or parallel webhooks
 *   (check suite + workflow run + status of one push) make one repair at most.
 * - **Authority laundering.** The origin records the requester; a follow-up acts
 *   on their behalf and the worker re-checks their write access. A webhook's
 *   sender (a CI bot) never becomes the actor.
 *
 * Keys under `<prefix>:pw:` (see src/queue/README.md): `follow-up:<target>` (hash),
 * `follow-up-head:<inst>/<owner>/<repo>:<sha>` (→ PR number), `follow-up-open:<inst>/<owner>/<repo>`
 * (set of PR numbers), `follow-up:<target>:repair:<sha>`, `follow-up:<target>:update:<baseSha>`,
 * `follow-up:<target>:rerun:<sha>` (src/queue/ci-reruns.ts).
 */

/** Marks outlive any reasonable PR; each push refreshes them. */
const PULL_TTL_SECONDS = 90 * 24 * 60 * 60;
/** A head is looked up while its CI runs (minutes to hours) and on re-runs. */
const HEAD_TTL_SECONDS = 30 * 24 * 60 * 60;
const CLAIM_TTL_SECONDS = 30 * 24 * 60 * 60;
const UPDATE_CLAIM_TTL_SECONDS = 7 * 24 * 60 * 60;
/** How many of the PR's pushed heads are remembered (the head index needs no list, this is for reports). */
const MAX_PUSHED_HEADS = 20;

/** Where a PR came from: whose request, which kind of run opened it, and its maintenance task. */
export const PullOrigin = z.object({
  /** Login of the person whose request opened the PR; for a maintenance PR, `schedule`. */
  requester: z.string().min(1).max(100),
  requesterId: z.number().int().nonnegative().optional(),
  /** The kind of the run that opened the PR (`implement`, `maintenance`, …). */
  kind: TaskKind,
  /** Set for maintenance PRs: follow-ups are authorized by this task id, not a person. */
  maintenanceTaskId: z.string().min(1).max(64).optional(),
});
export type PullOrigin = z.infer<typeof PullOrigin>;

export const RecordedPush = z.object({
  headSha: GitSha,
  /** The PR's head branch (on the fork for fork delivery) and base branch. */
  headRef: z.string().min(1).max(255),
  baseRef: z.string().min(1).max(255),
  origin: PullOrigin,
  /**
   * True when Pullwright opened this PR. Pushes to a person's PR (`revise`,
   * `address review` on their branch) are recorded too, but only PRs Pullwright
   * opened get automatic follow-ups.
   */
  openedByPullwright: z.boolean(),
  /** The kind of the run that made this push (a `repair-ci` push, an `update-branch` merge, …). */
  pushedBy: TaskKind,
});
export type RecordedPush = z.infer<typeof RecordedPush>;

export interface PullMark {
  origin: PullOrigin;
  openedByPullwright: boolean;
  headRef: string;
  baseRef: string;
  /** The head SHA Pullwright pushed last. */
  headSha: string;
  pushedAt: string;
  pushedBy: TaskKind;
  /** Repairs claimed so far on this PR, across heads. */
  repairs: number;
  /** Heads Pullwright pushed, newest first (at most 20). */
  pushedHeads: string[];
}

export type RepairClaim =
  /** Go ahead: this is repair number `attempt` of `maxAttempts`. */
  | { status: 'claimed'; attempt: number; maxAttempts: number }
  /** This head already has a repair (or a limit report) claimed. */
  | { status: 'duplicate'; attempt: number; maxAttempts: number; exhausted: boolean }
  /** The limit is reached: the head is claimed for the one "still failing, stopping" report. */
  | { status: 'exhausted'; attempts: number; maxAttempts: number };

export interface FollowUpMarks {
  /** Worker, after every push to a PR's branch. Keeps the first origin recorded (the PR's opener). */
  recordPush(target: Target, push: RecordedPush): Promise<void>;
  getPull(target: Target): Promise<PullMark | null>;
  /** The PR whose head Pullwright pushed as `headSha` (any of its recorded heads), or null. */
  findPullByHead(
    installationId: number,
    repo: RepoRef,
    headSha: string,
  ): Promise<{ number: number; mark: PullMark } | null>;
  /** Open PRs Pullwright pushed to whose base is `baseRef`. */
  listPullsOnBase(
    installationId: number,
    repo: RepoRef,
    baseRef: string,
  ): Promise<{ number: number; mark: PullMark }[]>;
  /**
   * Claims the repair of `headSha`, once per head. Automatic repairs stop at
   * `maxRepairs` (then the head is claimed once more, `exhausted`, for the report);
   * `requested: true` (a writer's `@agent fix ci`) always claims and counts.
   */
  claimRepair(
    target: Target,
    headSha: string,
    options: { maxRepairs: number; requested?: boolean },
  ): Promise<RepairClaim>;
  /** Gives a claim back (the job could not be queued): the count goes down again. */
  releaseRepair(target: Target, headSha: string): Promise<void>;
  /** The claim of one head, as the worker reads it to say "attempt n of N". */
  getRepair(
    target: Target,
    headSha: string,
  ): Promise<{ attempt: number; maxAttempts: number; exhausted: boolean } | null>;
  /** Once per (PR, base head): a base push redelivered or seen twice updates the branch once. */
  claimUpdate(target: Target, baseSha: string): Promise<boolean>;
  releaseUpdate(target: Target, baseSha: string): Promise<void>;
  /** The PR was closed or merged: no more follow-ups. */
  forgetPull(target: Target): Promise<void>;
  /**
   * A repair re-runs `headSha`'s failed Actions runs instead of waiting for them in its slot
   * (src/queue/ci-reruns.ts): recorded before the re-runs start.
   */
  startRerun(
    target: Target,
    headSha: string,
    runs: { id: number; runAttempt: number }[],
    state: Pick<RerunState, 'failures'>,
  ): Promise<void>;
  /** A re-run finished (`workflow_run.completed`); true exactly once, when it was the last one. */
  rerunFinished(target: Target, headSha: string, runId: number, runAttempt: number): Promise<boolean>;
  getRerun(target: Target, headSha: string): Promise<RerunState | null>;
  /** The re-runs could not start: the repair goes on without them. */
  forgetRerun(target: Target, headSha: string): Promise<void>;
  /**
   * The task queue on this store's connection, for the worker's reconcile: a red CI result
   * that came before the head was recorded is queued by the recorder (worker/flows/reconcile-ci.ts)
   * with the same claim and job id as the app's. Created on first use; the app uses its own queue.
   */
  readonly tasks: Pick<TaskQueue, 'enqueueTask'>;
}

/**
 * KEYS[1] pull hash, KEYS[2] claim key. ARGV: max, requested (1/0), claim ttl, pull ttl.
 * Returns {status, attempt-or-attempts, max, exhausted}.
 */
const CLAIM_REPAIR = `
local existing = redis.call('GET', KEYS[2])
if existing and ARGV[2] ~= '1' then
  local a, m, e = string.match(existing, '^(%d+):(%d+):(%d)$')
  return {'duplicate', tonumber(a), tonumber(m), tonumber(e)}
end
local max = tonumber(ARGV[1])
local repairs = tonumber(redis.call('HGET', KEYS[1], 'repairs') or '0')
if ARGV[2] ~= '1' and repairs >= max then
  redis.call('SET', KEYS[2], repairs .. ':' .. max .. ':1', 'EX', ARGV[3])
  return {'exhausted', repairs, max, 1}
end
local attempt = redis.call('HINCRBY', KEYS[1], 'repairs', 1)
redis.call('EXPIRE', KEYS[1], ARGV[4])
local shown = max
if attempt > shown then shown = attempt end
redis.call('SET', KEYS[2], attempt .. ':' .. shown .. ':0', 'EX', ARGV[3])
return {'claimed', attempt, shown, 0}
`;

/** KEYS[1] pull hash, KEYS[2] claim key: undo a claim that never became a job. */
const RELEASE_REPAIR = `
local existing = redis.call('GET', KEYS[2])
if not existing then return 0 end
redis.call('DEL', KEYS[2])
if string.sub(existing, -1) == '0' then
  local left = redis.call('HINCRBY', KEYS[1], 'repairs', -1)
  if left < 0 then redis.call('HSET', KEYS[1], 'repairs', 0) end
end
return 1
`;

const PullHash = z.object({
  origin: z.string(),
  openedByPullwright: z.enum(['0', '1']),
  headRef: z.string(),
  baseRef: z.string(),
  headSha: z.string(),
  pushedAt: z.string(),
  pushedBy: TaskKind,
  repairs: z.string().optional(),
  pushedHeads: z.string().optional(),
});

function toMark(raw: Record<string, string>): PullMark | null {
  const parsed = PullHash.safeParse(raw);
  if (!parsed.success) return null;
  const origin = PullOrigin.safeParse(JSON.parse(parsed.data.origin));
  if (!origin.success) return null;
  return {
    origin: origin.data,
    openedByPullwright: parsed.data.openedByPullwright === '1',
    headRef: parsed.data.headRef,
    baseRef: parsed.data.baseRef,
    headSha: parsed.data.headSha,
    pushedAt: parsed.data.pushedAt,
    pushedBy: parsed.data.pushedBy,
    repairs: Number(parsed.data.repairs ?? '0'),
    pushedHeads: (parsed.data.pushedHeads ?? '').split(',').filter(Boolean),
  };
}

export function createFollowUpMarks(
  redis: Redis,
  prefix: string,
  now: () => Date = () => new Date(),
): FollowUpMarks {
  const kp = keyPrefix(prefix);
  const repoKey = (installationId: number, repo: RepoRef) => `${installationId}/${repoSlug(repo)}`;
  const pullKey = (target: Target) => `${kp}:follow-up:${targetId(target)}`;
  const headKey = (installationId: number, repo: RepoRef, sha: string) =>
    `${kp}:follow-up-head:${repoKey(installationId, repo)}:${sha.toLowerCase()}`;
  const openKey = (installationId: number, repo: RepoRef) =>
    `${kp}:follow-up-open:${repoKey(installationId, repo)}`;
  const repairKey = (target: Target, sha: string) => `${pullKey(target)}:repair:${sha.toLowerCase()}`;
  const updateKey = (target: Target, sha: string) => `${pullKey(target)}:update:${sha.toLowerCase()}`;

  let queue: TaskQueue | null = null;
  const reruns = createCiReruns(redis);
  const rerunKey = (target: Target, sha: string) => `${pullKey(target)}:rerun:${sha.toLowerCase()}`;

  async function getPull(target: Target): Promise<PullMark | null> {
    const raw = await redis.hgetall(pullKey(target));
    return Object.keys(raw).length === 0 ? null : toMark(raw);
  }

  return {
    async recordPush(target, input) {
      const push = RecordedPush.parse(input);
      const key = pullKey(target);
      const previous = await redis.hget(key, 'pushedHeads');
      const heads = [push.headSha, ...(previous ?? '').split(',').filter((h) => h && h !== push.headSha)];
      await redis
        .multi()
        // The PR's origin is whoever's request opened it; a later revise by someone else does not change it.
        .hsetnx(key, 'origin', JSON.stringify(push.origin))
        .hsetnx(key, 'openedByPullwright', push.openedByPullwright ? '1' : '0')
        .hset(key, {
          headRef: push.headRef,
          baseRef: push.baseRef,
          headSha: push.headSha,
          pushedAt: now().toISOString(),
          pushedBy: push.pushedBy,
          pushedHeads: heads.slice(0, MAX_PUSHED_HEADS).join(','),
        })
        .expire(key, PULL_TTL_SECONDS)
        .set(
          headKey(target.installationId, target.repo, push.headSha),
          String(target.number),
          'EX',
          HEAD_TTL_SECONDS,
        )
        .sadd(openKey(target.installationId, target.repo), String(target.number))
        .expire(openKey(target.installationId, target.repo), PULL_TTL_SECONDS)
        .exec();
    },

    getPull,

    async findPullByHead(installationId, repo, headSha) {
      const number = Number(await redis.get(headKey(installationId, repo, headSha)));
      if (!Number.isInteger(number) || number <= 0) return null;
      const mark = await getPull({ installationId, repo, number });
      return mark ? { number, mark } : null;
    },

    async listPullsOnBase(installationId, repo, baseRef) {
      const numbers = (await redis.smembers(openKey(installationId, repo)))
        .map(Number)
        .filter((n) => Number.isInteger(n) && n > 0)
        .sort((a, b) => a - b);
      const found: { number: number; mark: PullMark }[] = [];
      for (const number of numbers) {
        const mark = await getPull({ installationId, repo, number });
        if (mark === null) {
          // Expired: drop it from the set so the list does not grow forever.
          await redis.srem(openKey(installationId, repo), String(number));
          continue;
        }
        if (mark.baseRef === baseRef) found.push({ number, mark });
      }
      return found;
    },

    async claimRepair(target, headSha, { maxRepairs, requested = false }) {
      const [status, count, max, exhausted] = (await redis.eval(
        CLAIM_REPAIR,
        2,
        pullKey(target),
        repairKey(target, headSha),
        String(Math.max(0, Math.floor(maxRepairs))),
        requested ? '1' : '0',
        String(CLAIM_TTL_SECONDS),
        String(PULL_TTL_SECONDS),
      )) as [string, number, number, number];
      if (status === 'claimed') return { status, attempt: count, maxAttempts: max };
      if (status === 'exhausted') return { status, attempts: count, maxAttempts: max };
      return { status: 'duplicate', attempt: count, maxAttempts: max, exhausted: exhausted === 1 };
    },

    async releaseRepair(target, headSha) {
      await redis.eval(RELEASE_REPAIR, 2, pullKey(target), repairKey(target, headSha));
    },

    async getRepair(target, headSha) {
      const raw = await redis.get(repairKey(target, headSha));
      const match = raw?.match(/^(\d+):(\d+):([01])$/);
      if (!match) return null;
      return { attempt: Number(match[1]), maxAttempts: Number(match[2]), exhausted: match[3] === '1' };
    },

    async claimUpdate(target, baseSha) {
      return (
        (await redis.set(updateKey(target, baseSha), '1', 'EX', UPDATE_CLAIM_TTL_SECONDS, 'NX')) !== null
      );
    },

    async releaseUpdate(target, baseSha) {
      await redis.del(updateKey(target, baseSha));
    },

    async forgetPull(target) {
      const mark = await getPull(target);
      const tx = redis
        .multi()
        .del(pullKey(target))
        .srem(openKey(target.installationId, target.repo), String(target.number));
      for (const sha of mark?.pushedHeads ?? []) tx.del(headKey(target.installationId, target.repo, sha));
      await tx.exec();
    },

    startRerun: (target, headSha, runs, state) => reruns.start(rerunKey(target, headSha), runs, state),
    rerunFinished: (target, headSha, runId, runAttempt) =>
      reruns.runFinished(rerunKey(target, headSha), runId, runAttempt),
    getRerun: (target, headSha) => reruns.get(rerunKey(target, headSha)),
    forgetRerun: (target, headSha) => reruns.forget(rerunKey(target, headSha)),

    tasks: {
      enqueueTask(task, options) {
        queue ??= createTaskQueue({ prefix, redis });
        return queue.enqueueTask(task, options);
      },
    },
  };
}
