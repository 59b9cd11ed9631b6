import {
  BUILTIN_PROTECTED_PATHS,
  type EffectiveRepoConfig,
} from '../../src/repo-config/effective-repo-config.js';

/**
 * The effective settings of one run: the repo's `.github/pullwright.yml` (read
 * from the default branch only) already capped by the operator's environment.
 * The repo-config module's own type, not a copy of it.
 */
export type FlowRepoConfig = EffectiveRepoConfig;

export const DEFAULT_FLOW_CONFIG: FlowRepoConfig = {
  triggerPhrase: null,
  setupCommand: null,
  verifyCommands: [],
  network: { setup: { mode: 'none' }, agent: { mode: 'none' } },
  limits: { maxTurns: 100, maxCostUsd: 5, maxWallMs: 30 * 60_000 },
  protectedPaths: [...BUILTIN_PROTECTED_PATHS],
  allowProtectedPaths: false,
  pr: { draft: false, labels: [], branchPrefix: 'pullwright/' },
  delivery: 'branch',
  maintenance: [],
  monthlyBudgetUsd: null,
  ci: { repair: true, maxRepairs: 2 },
  updateBranch: 'conflicts',
  review: { resolveThreads: true, selfReview: true },
  checkRun: true,
  dashboard: true,
  setupCacheKey: [],
  permissions: {
    shell: { allow: [], deny: [] },
    write: { allow: [], deny: [] },
    network: { allow: [], deny: [] },
    tools: { allow: [], deny: [] },
  },
  mcp: { servers: [] },
  problems: [],
};

/** `pullwright/issue-12-fix-the-login-redirect`: readable, bounded, git-safe. */
export function slugify(title: string, maxLength = 40): string {
  const slug = title
    .normalize('NFKD')
    .replace(/[\u0300-\u036f]/g, '')
    .toLowerCase()
    .replace(/[^a-z0-9]+/g, '-')
    .replace(/^-+|-+$/g, '')
    .slice(0, maxLength)
    .replace(/-+$/g, '');
  return slug || 'task';
}

export function issueBranch(prefix: string, number: number, title: string): string {
  return `${prefix}issue-${number}-${slugify(title)}`;
}

export function maintenanceBranch(prefix: string, taskId: string): string {
  return `${prefix}maintenance/${slugify(taskId, 60)}`;
}
