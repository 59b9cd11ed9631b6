import type { CostLedger } from './cost-ledger.js';

/**
 * The monthly budget per installation (MAX_MONTHLY_COST_USD; a repo's
 * `limits.monthlyCostUsd` only lowers it). Spend is the installation's
 * month-to-date cost across all its repositories; a repo's own lower budget is
 * checked against that repo's spend as well. A run over budget does not start;
 * a run that starts gets the remainder as its cost limit, so the loop stops it
 * at the budget exactly as at its per-run limit.
 */
export type BudgetCheck =
  | { status: 'ok'; remainingUsd: number | null }
  | {
      status: 'over';
      scope: 'installation' | 'repository';
      spentUsd: number;
      limitUsd: number;
      month: string;
    };

export interface BudgetLimits {
  installationId: number;
  repo: string;
  /** MAX_MONTHLY_COST_USD, or null. */
  installationLimitUsd: number | null;
  /** The repo's effective `limits.monthlyCostUsd` (already at most the operator's), or null. */
  repoLimitUsd: number | null;
}

export async function checkMonthlyBudget(ledger: CostLedger, limits: BudgetLimits): Promise<BudgetCheck> {
  if (limits.installationLimitUsd === null && limits.repoLimitUsd === null) {
    return { status: 'ok', remainingUsd: null };
  }
  const mtd = await ledger.monthToDate(limits);
  let remaining = Number.POSITIVE_INFINITY;
  const scopes = [
    { scope: 'installation', limitUsd: limits.installationLimitUsd, spentUsd: mtd.installation.costUsd },
    { scope: 'repository', limitUsd: limits.repoLimitUsd, spentUsd: mtd.repo.costUsd },
  ] as const;
  for (const { scope, limitUsd, spentUsd } of scopes) {
    if (limitUsd === null) continue;
    const left = limitUsd - spentUsd;
    if (left <= 0) return { status: 'over', scope, spentUsd, limitUsd, month: mtd.month };
    remaining = Math.min(remaining, left);
  }
  return { status: 'ok', remainingUsd: remaining };
}

/** What the issue or PR is told when a run is refused for the budget (no untrusted text in it). */
export function budgetRefusalText(over: Extract<BudgetCheck, { status: 'over' }>): string {
  const whose = over.scope === 'installation' ? "this installation's" : "this repository's";
  const setting =
    over.scope === 'installation'
      ? 'the operator can raise `MAX_MONTHLY_COST_USD`'
      : "a maintainer can raise `limits.monthlyCostUsd` in `.github/pullwright.yml` (up to the operator's `MAX_MONTHLY_COST_USD`)";
  return [
    `**Not started: ${whose} monthly model budget is used up.**`,
    '',
    `Spent in ${over.month} (UTC): $${over.spentUsd.toFixed(2)} of $${over.limitUsd.toFixed(2)}.`,
    `The budget resets at the start of next month, or ${setting}. Ask again then.`,
  ].join('\n');
}
