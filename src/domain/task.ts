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

/** Kinds a person asks for on an issue or pull request: they carry its number. */
export const TargetTaskKind = z.enum(['implement', 'address-review', 'revise']);
export type TargetTaskKind = z.infer<typeof TargetTaskKind>;

export const TaskKind = z.enum([...TargetTaskKind.options, 'maintenance']);
export type TaskKind = z.infer<typeof TaskKind>;

/** Where a person's request came from. */
export const PersonTriggerSource = z.enum(['assignment', 'issue_comment', 'review', 'review_comment']);
export type PersonTriggerSource = z.infer<typeof PersonTriggerSource>;

export const TriggerSource = z.enum([...PersonTriggerSource.options, 'schedule']);
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

export const Trigger = z.discriminatedUnion('source', [PersonTrigger, ScheduleTrigger]);
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

/** Work on one issue or pull request, asked for by a person. */
export const TargetTask = z.object({
  kind: TargetTaskKind,
  ...taskFields,
  /** Issue or PR number. */
  number: z.number().int().positive(),
  maintenanceTaskId: z.never().optional(),
  trigger: PersonTrigger,
  /** Absent in jobs queued before it existed and when the webhook carried no text. */
  approved: ApprovedText.optional(),
});
export type TargetTask = z.infer<typeof TargetTask>;

/**
 * A maintenance task from `.github/pullwright.yml`, fired by its schedule.
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
  trigger: ScheduleTrigger,
  approved: z.never().optional(),
});
export type MaintenanceTask = z.infer<typeof MaintenanceTask>;

export const Task = z.discriminatedUnion('kind', [TargetTask, MaintenanceTask]);
export type Task = z.infer<typeof Task>;
