import type { Usage } from '../../model/model.js';

export interface Budgets {
  maxTurns: number;
  maxCostUsd: number;
  maxWallMs: number;
  /** All input tokens of the run: uncached + cache read + cache write. */
  maxInputTokens?: number;
  maxOutputTokens?: number;
}

export type LimitKind = 'turns' | 'input_tokens' | 'output_tokens' | 'cost' | 'wall_time';

export interface BudgetState {
  turns: number;
  usage: Usage;
  costUsd: number;
  elapsedMs: number;
}

/** Share of a budget at which the agent is told to wrap up. */
export const WRAP_UP_SHARE = 0.8;

function measures(budgets: Budgets, state: BudgetState): [LimitKind, number, number | undefined][] {
  const u = state.usage;
  return [
    ['turns', state.turns, budgets.maxTurns],
    ['input_tokens', u.input + u.cacheRead + u.cacheWrite, budgets.maxInputTokens],
    ['output_tokens', u.output, budgets.maxOutputTokens],
    ['cost', state.costUsd, budgets.maxCostUsd],
    ['wall_time', state.elapsedMs, budgets.maxWallMs],
  ];
}

/** The first limit reached, if any. */
export function exceededLimit(budgets: Budgets, state: BudgetState): LimitKind | undefined {
  for (const [kind, used, max] of measures(budgets, state)) if (max !== undefined && used >= max) return kind;
  return undefined;
}

/** Limits past the wrap-up share but not yet reached. */
export function nearLimits(budgets: Budgets, state: BudgetState, share = WRAP_UP_SHARE): LimitKind[] {
  const out: LimitKind[] = [];
  for (const [kind, used, max] of measures(budgets, state))
    if (max !== undefined && used >= max * share && used < max) out.push(kind);
  return out;
}

const LABEL: Record<LimitKind, string> = {
  turns: 'turns',
  input_tokens: 'input tokens',
  output_tokens: 'output tokens',
  cost: 'cost',
  wall_time: 'time',
};

export function wrapUpNote(kinds: LimitKind[]): string {
  return `[harness] You are close to this run's ${kinds.map((k) => LABEL[k]).join(', ')} budget. Wrap up now: finish the current step, make sure the work is in a consistent state, and call finish with a summary of what is done and what is left.`;
}
