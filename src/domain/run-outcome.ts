import { z } from 'zod';

/**
 * How a run ended: one vocabulary for the agent loop, the flows, the tracking
 * comment, metrics and the CLI. The agent loop produces the first five and
 * `needs_input` (it stopped with a question for the maintainers, charging only
 * what it spent; a writer's answer starts the next run); the flows add `refused`
 * (a check said no before or after the agent ran) and `skipped` (nothing to do,
 * such as a maintenance change already proposed).
 */
export const RunOutcome = z.enum([
  'succeeded',
  'no-changes',
  'limit',
  'failed',
  'cancelled',
  'needs_input',
  'refused',
  'skipped',
]);
export type RunOutcome = z.infer<typeof RunOutcome>;

/** What an agent loop can end with: the subset of RunOutcome it decides on its own. */
export const AgentOutcome = RunOutcome.extract([
  'succeeded',
  'no-changes',
  'limit',
  'failed',
  'cancelled',
  'needs_input',
]);
export type AgentOutcome = z.infer<typeof AgentOutcome>;
