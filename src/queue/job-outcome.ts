import { UnrecoverableError } from 'bullmq';
import { toPullwrightError } from '../errors.js';

/**
 * The one place that maps an error to a BullMQ outcome. Only errors that say
 * they are retryable (rate limits, upstream outages, timeouts) are retried,
 * with exponential backoff; everything else fails at once so a broken job does
 * not burn model budget three times.
 */
export const TASK_ATTEMPTS = 3;
export const TASK_BACKOFF = { type: 'exponential', delay: 30_000 } as const;

/** Call from a worker's processor `catch`: returns what to throw. */
export function toJobFailure(err: unknown): Error {
  const error = toPullwrightError(err);
  if (error.retryable) return error;
  const unrecoverable = new UnrecoverableError(`${error.code}: ${error.message}`);
  unrecoverable.cause = error;
  return unrecoverable;
}

/** Wraps a processor so every failure goes through `toJobFailure`. */
export function withJobOutcome<A extends unknown[], R>(
  processor: (...args: A) => Promise<R>,
): (...args: A) => Promise<R> {
  return async (...args: A) => {
    try {
      return await processor(...args);
    } catch (err) {
      throw toJobFailure(err);
    }
  };
}
