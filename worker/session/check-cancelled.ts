import { PullwrightError } from '../../src/errors.js';

/** Stops between steps once the run's signal has fired; the caller reads `signal.reason` for why. */
export function checkCancelled(signal: AbortSignal): void {
  if (signal.aborted) throw new PullwrightError('cancelled', 'The run was cancelled.', { retryable: false });
}
