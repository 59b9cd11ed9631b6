import type { Redis } from 'ioredis';
import { keyPrefix } from '../queue/queue-names.js';
import { runRepoSlug } from './run-store.js';

/**
 * Month-to-date runs, tokens and cost per installation and per repository (UTC
 * months), written by the workers as each model turn is paid for and read by the
 * runs page, the operator dashboard, the budget check and /metrics. Cost is kept
 * in micro-dollars as integers so concurrent increments never lose precision.
 */
export interface CostTotals {
  runs: number;
  inputTokens: number;
  outputTokens: number;
  costUsd: number;
}

export interface CostAddition {
  installationId: number;
  repo: string;
  runs?: number;
  inputTokens?: number;
  outputTokens?: number;
  costUsd?: number;
}

export interface MonthSummary {
  month: string;
  installations: (CostTotals & { installationId: number })[];
  repos: (CostTotals & { repo: string; installationId: number })[];
}

/** Counters live a little over a year: the dashboard shows this month, budgets need only this month. */
const MONTH_TTL_SECONDS = 400 * 86_400;

export function monthOf(at: number): string {
  return new Date(at).toISOString().slice(0, 7);
}

function totalsOf(hash: Record<string, string>): CostTotals {
  return {
    runs: Number(hash.runs ?? 0),
    inputTokens: Number(hash.input ?? 0),
    outputTokens: Number(hash.output ?? 0),
    costUsd: Number(hash.micros ?? 0) / 1e6,
  };
}

export type CostLedger = ReturnType<typeof createCostLedger>;

export function createCostLedger(redis: Redis, prefix: string, now: () => number = Date.now) {
  const kp = keyPrefix(prefix);
  const keys = {
    installation: (month: string, id: number) => `${kp}:cost:${month}:inst:${id}`,
    repo: (month: string, repo: string) => `${kp}:cost:${month}:repo:${runRepoSlug(repo)}`,
    installations: (month: string) => `${kp}:cost:${month}:insts`,
    repos: (month: string) => `${kp}:cost:${month}:repos`,
    /** All-time cost per installation and repo: the Prometheus counter's source. */
    allTime: `${kp}:cost:all-time`,
  };

  return {
    keys,

    async add(addition: CostAddition): Promise<void> {
      const month = monthOf(now());
      const micros = Math.round((addition.costUsd ?? 0) * 1e6);
      const slug = runRepoSlug(addition.repo);
      const multi = redis.multi();
      for (const key of [keys.installation(month, addition.installationId), keys.repo(month, slug)]) {
        if (addition.runs) multi.hincrby(key, 'runs', addition.runs);
        if (addition.inputTokens) multi.hincrby(key, 'input', addition.inputTokens);
        if (addition.outputTokens) multi.hincrby(key, 'output', addition.outputTokens);
        if (micros) multi.hincrby(key, 'micros', micros);
        multi.expire(key, MONTH_TTL_SECONDS);
      }
      multi.hset(keys.repo(month, slug), 'installationId', addition.installationId);
      multi.zincrby(keys.installations(month), micros, String(addition.installationId));
      multi.zincrby(keys.repos(month), micros, slug);
      multi.expire(keys.installations(month), MONTH_TTL_SECONDS);
      multi.expire(keys.repos(month), MONTH_TTL_SECONDS);
      if (micros) multi.hincrby(keys.allTime, `${addition.installationId}|${slug}`, micros);
      await multi.exec();
    },

    async monthToDate(target: { installationId: number; repo: string }): Promise<{
      month: string;
      installation: CostTotals;
      repo: CostTotals;
    }> {
      const month = monthOf(now());
      const [inst, repo] = await Promise.all([
        redis.hgetall(keys.installation(month, target.installationId)),
        redis.hgetall(keys.repo(month, target.repo)),
      ]);
      return { month, installation: totalsOf(inst), repo: totalsOf(repo) };
    },

    /** The month's biggest spenders, for the operator dashboard. */
    async monthSummary(month: string = monthOf(now()), limit = 50): Promise<MonthSummary> {
      const [instIds, repoSlugs] = await Promise.all([
        redis.zrevrange(keys.installations(month), 0, limit - 1),
        redis.zrevrange(keys.repos(month), 0, limit - 1),
      ]);
      const installations = await Promise.all(
        instIds.map(async (id) => ({
          installationId: Number(id),
          ...totalsOf(await redis.hgetall(keys.installation(month, Number(id)))),
        })),
      );
      const repos = await Promise.all(
        repoSlugs.map(async (slug) => {
          const hash = await redis.hgetall(keys.repo(month, slug));
          return { repo: slug, installationId: Number(hash.installationId ?? 0), ...totalsOf(hash) };
        }),
      );
      return { month, installations, repos };
    },

    /** All-time cost by `installationId|owner/name`, in dollars. */
    async allTimeCosts(): Promise<{ installationId: string; repo: string; costUsd: number }[]> {
      const hash = await redis.hgetall(keys.allTime);
      return Object.entries(hash).map(([field, micros]) => {
        const [installationId = '', repo = ''] = field.split('|');
        return { installationId, repo, costUsd: Number(micros) / 1e6 };
      });
    },
  };
}
