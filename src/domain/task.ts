import { createHash } from 'node:crypto';
import { z } from 'zod';

/**
 * A unit of work on the queue. Job data holds identifiers, never a token; its
 * only untrusted text is the triggering instruction and the approved issue text,
 * which the worker sanitizes like everything it reads.
 */
export const RepoRef = z.object({
  owner: z.string().min(1).max(100),
  name: z.string().min(1).max(100),
  id: z.number().int().positive().optional(),
});
export type RepoRef = z.infer<typeof RepoRef>;

/**
 * Kinds of work on one issue or pull request: they carry its number. `repair-ci` and
 * `update-branch` work on a pull request; a writer asks for them (`@agent fix ci`,
 * `@agent update`) or the app queues them as follow-ups on a PR Pullwright opened.
 */
export const TargetTaskKind = z.enum(['implement', 'address-review', 'revise', 'repair-ci', 'update-branch']);
export type TargetTaskKind = z.infer<typeof TargetTaskKind>;

/** The kinds the app may queue by itself (a follow-up) on a pull request Pullwright opened. */
export const FollowUpTaskKind = z.enum(['repair-ci', 'update-branch']);
export type FollowUpTaskKind = z.infer<typeof FollowUpTaskKind>;

export const TaskKind = z.enum([...TargetTaskKind.options, 'maintenance']);
export type TaskKind = z.infer<typeof TaskKind>;

/** Where a person's request came from. */
export const PersonTriggerSource = z.enum(['assignment', 'issue_comment', 'review', 'review_comment']);
export type PersonTriggerSource = z.infer<typeof PersonTriggerSource>;

export const TriggerSource = z.enum([...PersonTriggerSource.options, 'schedule', 'follow-up']);
export type TriggerSource = z.infer<typeof TriggerSource>;

const triggerFields = {
  /** Who asked: the authorized user whose request this is (for a schedule, who configured it is unknown). */
  actor: z.string().min(1).max(100),
  actorId: z.number().int().nonnegative().optional(),
  commentId: z.number().int().positive().optional(),
  /** The instruction after the trigger phrase, or a schedule's prompt (untrusted; sanitized by the worker). */
  instruction: z.string().max(10_000).optional(),
};

/** A request by a person, authorized by the app when it arrived (and re-checked by the worker). */
export const PersonTrigger = z.object({ ...triggerFields, source: PersonTriggerSource });
export type PersonTrigger = z.infer<typeof PersonTrigger>;

/** A maintenance schedule firing: no person to re-check, so only maintenance may carry it. */
export const ScheduleTrigger = z.object({ ...triggerFields, source: z.literal('schedule') });
export type ScheduleTrigger = z.infer<typeof ScheduleTrigger>;

/**
 * Why the app queued a follow-up by itself: checks failed on a head it pushed
 * (`ci-failed`, a `repair-ci`), the PR conflicts with its base or fell behind it
 * (`conflict`/`behind`, an `update-branch`), or a writer ticked "run now" on the
 * maintenance dashboard issue (`dashboard`, a `maintenance` task).
 */
export const FollowUpReason = z.enum(['ci-failed', 'conflict', 'behind', 'dashboard']);
export type FollowUpReason = z.infer<typeof FollowUpReason>;

/** A commit id: SHA-1 (40 hex) or SHA-256 (64 hex) repositories. */
export const GitSha = z.string().regex(/^[0-9a-f]{40}([0-9a-f]{24})?$/);

/**
 * Work the app queued by itself, on behalf of someone. `actor` is the person whose
 * request opened the PR (or who ticked the dashboard box): the worker re-checks that
 * person's write access exactly as for a person's trigger, so a webhook (a bot's
 * check suite, a push) never becomes authority by itself. A follow-up on a
 * maintenance PR has no person: its task carries `maintenanceTaskId` instead, which
 * the worker re-checks against the config as for a schedule.
 */
export const FollowUpTrigger = z.object({
  ...triggerFields,
  source: z.literal('follow-up'),
  reason: FollowUpReason,
  /** The head the follow-up is about: a `repair-ci` is for exactly this commit's failed checks. */
  headSha: GitSha.optional(),
});
export type FollowUpTrigger = z.infer<typeof FollowUpTrigger>;

export const Trigger = z.discriminatedUnion('source', [PersonTrigger, ScheduleTrigger, FollowUpTrigger]);
export type Trigger = z.infer<typeof Trigger>;

const taskFields = {
  installationId: z.number().int().positive(),
  repo: RepoRef,
  deliveryId: z.string().max(200).optional(),
  requestedAt: z.iso.datetime(),
};

/**
 * The title and body of the issue or PR as they were when the trigger was
 * approved (issue 14, item 4). Threat: the author, maybe not a writer, rewrites
 * the issue while the job waits, and the worker would run on text nobody with
 * write access saw. The text itself is kept (not only its hash): the worker runs
 * on it when the issue changed since, and GitHub's edit history is no substitute
 * (the author can delete revisions, and title edits are not in it). It is as
 * untrusted as the live text and goes through the same sanitizer.
 */
export const ApprovedText = z.object({
  /** GitHub caps titles at 256 characters and bodies at 65,536. */
  title: z.string().max(1_024),
  body: z.string().max(65_536),
  /** `approvedTextHash(title, body)`: compare with the live text's hash. */
  sha256: z.string().regex(/^[0-9a-f]{64}$/),
  /** The issue's `updated_at` in the webhook that carried the approval. */
  updatedAt: z.iso.datetime({ offset: true }).optional(),
});
export type ApprovedText = z.infer<typeof ApprovedText>;

/** One unambiguous encoding of title and body (a null body counts as empty, as in the REST API's ''). */
export function approvedTextHash(title: string, body: string | null | undefined): string {
  return createHash('sha256')
    .update(JSON.stringify([title, body ?? '']))
    .digest('hex');
}

/** What a webhook's issue or pull request said, as the task records it. */
export function approvedTextOf(item: {
  title: string;
  body: string | null;
  updatedAt?: string;
}): ApprovedText {
  const body = item.body ?? '';
  return {
    title: item.title,
    body,
    sha256: approvedTextHash(item.title, body),
    ...(item.updatedAt !== undefined ? { updatedAt: item.updatedAt } : {}),
  };
}

const FOLLOW_UP_REASONS: Record<FollowUpTaskKind, readonly FollowUpReason[]> = {
  'repair-ci': ['ci-failed'],
  'update-branch': ['conflict', 'behind'],
};

/**
 * Work on one issue or pull request, asked for by a person or queued as a
 * follow-up on their behalf. Threat: a job forged in Redis (or a bug) dressing a
 * person's request as a follow-up, or a follow-up as a maintenance task, to change
 * whose authority the worker checks; the refinements below allow a follow-up
 * trigger only on the follow-up kinds with a matching reason, and a
 * `maintenanceTaskId` only on a follow-up.
 */
export const TargetTask = z
  .object({
    kind: TargetTaskKind,
    ...taskFields,
    /** Issue or PR number. */
    number: z.number().int().positive(),
    /** Only on a follow-up to a maintenance PR: the config's task id is its authority. */
    maintenanceTaskId: z.string().min(1).max(64).optional(),
    trigger: z.discriminatedUnion('source', [PersonTrigger, FollowUpTrigger]),
    /** Absent in jobs queued before it existed and when the webhook carried no text. */
    approved: ApprovedText.optional(),
  })
  .superRefine((task, ctx) => {
    const trigger = task.trigger;
    if (trigger.source !== 'follow-up') {
      if (task.maintenanceTaskId !== undefined) {
        ctx.addIssue({
          code: 'custom',
          path: ['maintenanceTaskId'],
          message: 'only a follow-up on a maintenance PR carries a maintenance task id',
        });
      }
      return;
    }
    const kind = FollowUpTaskKind.safeParse(task.kind);
    if (!kind.success) {
      ctx.addIssue({
        code: 'custom',
        path: ['trigger', 'source'],
        message: `a ${task.kind} task cannot be a follow-up`,
      });
      return;
    }
    if (!FOLLOW_UP_REASONS[kind.data].includes(trigger.reason)) {
      ctx.addIssue({
        code: 'custom',
        path: ['trigger', 'reason'],
        message: `a ${task.kind} follow-up cannot have reason ${trigger.reason}`,
      });
    }
    // Dedup per head SHA: a repair is for one head's failures, never "whatever is there now".
    if (kind.data === 'repair-ci' && trigger.headSha === undefined) {
      ctx.addIssue({
        code: 'custom',
        path: ['trigger', 'headSha'],
        message: 'a repair-ci follow-up needs headSha',
      });
    }
  });
export type TargetTask = z.infer<typeof TargetTask>;

/**
 * A maintenance task from `.github/pullwright.yml`, fired by its schedule, or by a
 * writer ticking "run now" on the dashboard issue (a `dashboard` follow-up whose
 * actor is that writer, re-checked by the worker like any requester).
 * Threat: a job forged in Redis with `source: schedule` to skip the worker's
 * requester check; the schema allows that source only here, and the worker
 * re-reads the repository's config for the task id before it runs.
 */
export const MaintenanceTask = z.object({
  kind: z.literal('maintenance'),
  ...taskFields,
  number: z.never().optional(),
  /** Maintenance task id from `.github/pullwright.yml`. */
  maintenanceTaskId: z.string().min(1).max(64),
  trigger: z.discriminatedUnion('source', [
    ScheduleTrigger,
    FollowUpTrigger.extend({ reason: z.literal('dashboard'), headSha: z.never().optional() }),
  ]),
  approved: z.never().optional(),
});
export type MaintenanceTask = z.infer<typeof MaintenanceTask>;

export const Task = z.discriminatedUnion('kind', [TargetTask, MaintenanceTask]);
export type Task = z.infer<typeof Task>;

/**
 * Whose authority a task runs on, as the worker must re-check it: a person's write
 * access (their own request, or a follow-up on their behalf), or a maintenance task
 * id the default branch's config must still declare.
 */
export type TaskAuthority = { kind: 'person'; login: string } | { kind: 'maintenance'; taskId: string };

export function authorityOf(task: Task): TaskAuthority {
  if (task.kind === 'maintenance') {
    // "Run now" on the dashboard: the config's task AND the writer who ticked it.
    return { kind: 'maintenance', taskId: task.maintenanceTaskId };
  }
  if (task.maintenanceTaskId !== undefined) return { kind: 'maintenance', taskId: task.maintenanceTaskId };
  return { kind: 'person', login: task.trigger.actor };
}

/**
 * What an `update-branch` task asks for: `@agent rebase` asks for a rebase, anything else
 * (`@agent update`, a follow-up after a conflict) for a merge of the base. The worker
 * rebases only when every commit on the branch is Pullwright's; otherwise it merges.
 */
export function updateStrategyOf(task: TargetTask): 'merge' | 'rebase' {
  if (task.trigger.source === 'follow-up') return 'merge';
  return /^rebase\b/i.test(task.trigger.instruction ?? '') ? 'rebase' : 'merge';
}
