import type { Config } from '../config/env.js';
import type { RunPagesAuth } from './run-pages.js';

/** What the app needs for the run pages, from the environment (src/main.ts, scripts/local-stack.ts). */
export interface RunPagesSettings {
  auth: RunPagesAuth | null;
  publicUrl?: string;
  retentionDays: number;
  maxRunBytes: number;
  maxTotalBytes: number;
  monthlyBudgetUsd: number | null;
  /** METRICS_REPO_LABELS: the cost counter per installation and repo (label cardinality is a cost). */
  metricsRepoLabels: boolean;
  /** How long a person's access answer is reused (default 60 s; tests shorten it). */
  accessTtlSeconds?: number;
}

export const DEFAULT_RUN_PAGES_SETTINGS: RunPagesSettings = {
  auth: null,
  retentionDays: 30,
  maxRunBytes: 1_048_576,
  maxTotalBytes: 268_435_456,
  monthlyBudgetUsd: null,
  metricsRepoLabels: false,
};

type RunPagesConfig = Pick<
  Config,
  | 'GITHUB_CLIENT_ID'
  | 'GITHUB_CLIENT_SECRET'
  | 'SESSION_SECRET'
  | 'GITHUB_WEB_URL'
  | 'GITHUB_GIT_URL'
  | 'GITHUB_API_URL'
  | 'PUBLIC_URL'
  | 'RUN_RETENTION_DAYS'
  | 'RUN_RECORD_MAX_BYTES'
  | 'RUN_STORE_MAX_BYTES'
  | 'MAX_MONTHLY_COST_USD'
  | 'METRICS_REPO_LABELS'
>;

export function runPagesSettingsFromConfig(config: RunPagesConfig): RunPagesSettings {
  const auth =
    config.GITHUB_CLIENT_ID && config.GITHUB_CLIENT_SECRET && config.SESSION_SECRET
      ? {
          clientId: config.GITHUB_CLIENT_ID,
          clientSecret: config.GITHUB_CLIENT_SECRET,
          sessionSecret: config.SESSION_SECRET,
          webUrl: config.GITHUB_WEB_URL ?? config.GITHUB_GIT_URL,
          apiUrl: config.GITHUB_API_URL,
        }
      : null;
  return {
    auth,
    publicUrl: config.PUBLIC_URL,
    retentionDays: config.RUN_RETENTION_DAYS,
    maxRunBytes: config.RUN_RECORD_MAX_BYTES,
    maxTotalBytes: config.RUN_STORE_MAX_BYTES,
    monthlyBudgetUsd: config.MAX_MONTHLY_COST_USD ?? null,
    metricsRepoLabels: config.METRICS_REPO_LABELS,
  };
}
