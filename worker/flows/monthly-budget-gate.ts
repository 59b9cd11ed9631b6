import type { CostLedger } from '../../src/runs/cost-ledger.js';
import { budgetRefusalText, checkMonthlyBudget } from '../../src/runs/monthly-budget.js';
import type { FlowRepoConfig } from './flow-config.js';

/**
 * The monthly budget (issue 16) before a run starts: over budget, the run does not start
 * and the person reads why; otherwise the run's cost limit is narrowed to what is left,
 * so the loop stops at the budget exactly as at its per-run limit.
 * Returns the refusal text, or null with `config.limits.maxCostUsd` narrowed in place.
 */
export async function checkBudgetBeforeRun(input: {
  ledger: CostLedger | undefined;
  installationId: number;
  repo: string;
  installationLimitUsd: number | null;
  config: FlowRepoConfig;
}): Promise<string | null> {
  const { ledger, config } = input;
  if (!ledger) return null;
  const budget = await checkMonthlyBudget(ledger, {
    installationId: input.installationId,
    repo: input.repo,
    installationLimitUsd: input.installationLimitUsd,
    repoLimitUsd: config.monthlyBudgetUsd,
  });
  if (budget.status === 'over') return budgetRefusalText(budget);
  if (budget.remainingUsd !== null)
    config.limits = { ...config.limits, maxCostUsd: Math.min(config.limits.maxCostUsd, budget.remainingUsd) };
  return null;
}
