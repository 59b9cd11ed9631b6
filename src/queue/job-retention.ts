/** Finished jobs kept for the dashboard and for debugging: a day of successes, a week of failures. */
export const FINISHED_JOB_RETENTION = {
  removeOnComplete: { age: 24 * 60 * 60, count: 1_000 },
  removeOnFail: { age: 7 * 24 * 60 * 60, count: 5_000 },
} as const;
