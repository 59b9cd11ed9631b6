import { z } from 'zod';

/**
 * A unit of work on the queue. Job data holds identifiers only: no token, no
 * untrusted text beyond the triggering instruction, which the worker re-reads
 * and sanitizes anyway.
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

/** Work on one issue or pull request, asked for by a person. */
export const TargetTask = z.object({
  kind: TargetTaskKind,
  ...taskFields,
  /** Issue or PR number. */
  number: z.number().int().positive(),
  maintenanceTaskId: z.never().optional(),
  trigger: PersonTrigger,
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
});
export type MaintenanceTask = z.infer<typeof MaintenanceTask>;

export const Task = z.discriminatedUnion('kind', [TargetTask, MaintenanceTask]);
export type Task = z.infer<typeof Task>;
