import { PullwrightError } from '../errors.js';
import type { ParkedDelivery } from '../queue/parked-deliveries.js';

/** What parking keeps: the work, when it was parked, and why (the error's message, capped). */
export function parkedEntry(err: unknown, work: Omit<ParkedDelivery, 'parkedAt' | 'reason'>): ParkedDelivery {
  return {
    ...work,
    parkedAt: new Date().toISOString(),
    reason: err instanceof Error ? err.message.slice(0, 500) : 'GitHub unavailable',
  };
}

/** GitHub could not answer (outage, rate limit): worth handling the delivery again later. */
export function isGitHubUnavailable(err: unknown): boolean {
  return (
    err instanceof PullwrightError &&
    err.retryable &&
    (err.code === 'upstream_unavailable' || err.code === 'rate_limited')
  );
}
