/**
 * Why a job's abort signal fired. The queue sets it (`AbortController.abort(reason)`),
 * the flows read it (`signal.reason`) to tell a person's stop from a worker restart.
 * Named constants, because the string is a contract between two modules.
 */
export const AbortReason = {
  /** A person asked to stop (`@agent stop`, the run page's Stop button): the run ends cancelled. */
  cancel: 'cancel',
  /** The worker is shutting down: the job goes back to the queue and runs again. */
  shutdown: 'shutdown',
  /** The job's lock or its per-repo slot was lost: another worker may own it now; stop without reporting. */
  lockLost: 'lock-lost',
} as const;
export type AbortReason = (typeof AbortReason)[keyof typeof AbortReason];

export function abortReasonOf(signal: AbortSignal): AbortReason | undefined {
  const r: unknown = signal.reason;
  return r === AbortReason.cancel || r === AbortReason.shutdown || r === AbortReason.lockLost ? r : undefined;
}
