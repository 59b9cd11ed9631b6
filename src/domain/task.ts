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

export const TaskKind = z.enum(['implement', 'address-review', 'revise', 'maintenance']);
export type TaskKind = z.infer<typeof TaskKind>;

export const Trigger = z.object({
  /** Who asked: the authorized user whose request this is. */
  actor: z.string().min(1).max(100),
  actorId: z.number().int().nonnegative().optional(),
  /** Where the request came from. */
  source: z.enum(['assignment', 'issue_comment', 'review', 'review_comment', 'schedule']),
  commentId: z.number().int().positive().optional(),
  /** The instruction after the trigger phrase, if any (untrusted; sanitized by the worker). */
  instruction: z.string().max(10_000).optional(),
});
export type Trigger = z.infer<typeof Trigger>;

export const Task = z.object({
  kind: TaskKind,
  installationId: z.number().int().positive(),
  repo: RepoRef,
  /** Issue or PR number; absent for maintenance. */
  number: z.number().int().positive().optional(),
  /** Maintenance task id from `.github/pullwright.yml`. */
  maintenanceTaskId: z.string().min(1).max(64).optional(),
  trigger: Trigger,
  deliveryId: z.string().max(200).optional(),
  requestedAt: z.iso.datetime(),
});
export type Task = z.infer<typeof Task>;
