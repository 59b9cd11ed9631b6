import type { Sandbox } from '../../sandbox/sandbox.js';
import { type AgentResult, type Ending, endingOnError, endRun } from './ending.js';
import { startState } from './resume.js';
import { createRunContext, type Run, type RunAgentOptions } from './run-state.js';
import { step } from './step.js';

export type { Budgets, LimitKind } from './budgets.js';
export type { AgentResult } from './ending.js';
export { DEFAULT_MAX_TOOL_RESULT_CHARS, type RunAgentOptions } from './run-state.js';

/**
 * The agent loop, in mini-swe-agent's shape: `run` starts (or resumes) the state and
 * calls `step` until it returns an ending; a step queries the model and executes the
 * tools it asks for (which run in the Sandbox). Every stop (finish, a budget, cancel,
 * wall time, failure) becomes one `Ending` and the result is built in one place.
 * The history is append-only between compactions, so every turn reads the earlier
 * prefix from the prompt cache and every thinking block goes back as it came.
 */
export async function runAgent(options: RunAgentOptions): Promise<AgentResult> {
  const ctx = await createRunContext(options);
  const run: Run = { ctx, state: startState(ctx) };
  let ending: Ending | undefined;
  try {
    while (!ending) ending = await step(run);
  } catch (err) {
    ending = endingOnError(run, err);
  }
  return endRun(run, ending);
}

export type { Sandbox };
