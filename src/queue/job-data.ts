import { z } from 'zod';
import { Task } from '../domain/task.js';
import { PullwrightError } from '../errors.js';

/**
 * Job data is parsed when it goes onto the queue and again when a worker takes
 * it off: Redis is shared, and a job written by an older version or by hand
 * must fail clearly instead of running with missing fields.
 */
export function parseJobData(data: unknown): Task {
  const parsed = Task.safeParse(data);
  if (!parsed.success) {
    throw new PullwrightError('input_invalid', 'Job data does not match the Task schema', {
      retryable: false,
      details: { issues: parsed.error.issues.map((i) => `${i.path.join('.')}: ${i.message}`) },
    });
  }
  return parsed.data;
}

/** What the app records when someone asks to stop a job (see src/queue/README.md). */
export const CancelIntent = z.object({
  jobId: z.string().min(1).max(500),
  target: z.string().min(1).max(300),
  reason: z.enum(['stop-comment', 'unassigned', 'closed', 'uninstalled', 'repo-removed']),
  actor: z.string().max(100).optional(),
  requestedAt: z.iso.datetime(),
});
export type CancelIntent = z.infer<typeof CancelIntent>;
