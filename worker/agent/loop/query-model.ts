import { addUsage, type Message, type ModelResponse } from '../../model/model.js';
import { costOf } from '../../model/pricing.js';
import { applyCacheBreakpoints } from './cache-breakpoints.js';
import type { Run } from './run-state.js';

export interface Queried {
  response: ModelResponse;
  cost: number;
  durationMs: number;
}

/**
 * One model call over `messages` with the run's fixed tools and system, cache
 * breakpoints placed on a copy (never on the stored history), usage and cost added
 * to the run. Thinking blocks pass through untouched in both directions.
 */
export async function queryModel(
  run: Run,
  messages: Message[],
  extra: { toolChoice?: 'none'; maxTokens?: number } = {},
): Promise<Queried> {
  const { ctx, state } = run;
  const t0 = Date.now();
  const placed = applyCacheBreakpoints({
    tools: ctx.toolDefs,
    system: ctx.system,
    messages,
    // Right after a clear there is no previous tail in the new history: the newest unchanged
    // message bridges instead, and the earlier anchor (kept alive by every request) backs it up.
    previousTailIndex: state.previousTail ?? state.bridge,
    anchorIndex:
      state.previousTail === undefined ? (state.anchorBefore ?? state.clearAnchor) : state.clearAnchor,
  });
  const response = await ctx.model.complete({
    ...placed,
    ...extra,
    signal: ctx.signal,
    onText: ctx.options.onText,
  });
  const cost = costOf(response.usage, ctx.model.name, ctx.options.prices);
  state.usage = addUsage(state.usage, response.usage);
  state.costUsd += cost;
  return { response, cost, durationMs: Date.now() - t0 };
}
