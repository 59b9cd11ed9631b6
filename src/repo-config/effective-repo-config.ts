import type { NetworkMode } from '../config/env.js';
import { EgressAddressPolicy } from '../domain/egress-address-policy.js';
import { findInternalHostProblem } from './internal-hosts.js';
import type { McpServerConfig, ParsedRepoConfig, RepoConfig, RepoNetworkPolicy } from './repo-config.js';

/**
 * The settings a run actually uses: the repo's wishes capped by the operator.
 * A repository can ask for less than the operator allows, never for more, so a
 * compromised or careless repo config cannot give the agent open network or
 * let it rewrite CI workflows (which run with the repo's secrets) unless the
 * operator opted in. The shape matches the worker's `FlowRepoConfig`.
 */
export interface OperatorCaps {
  MAX_NETWORK: NetworkMode;
  ALLOW_WORKFLOW_EDITS: boolean;
  MAX_TURNS: number;
  MAX_COST_USD: number;
  MAX_WALL_MINUTES: number;
  /** Cap of `ci.maxRepairs` (env `MAX_CI_REPAIRS`, default 2). */
  MAX_CI_REPAIRS?: number;
  /** Monthly budget per installation (env `MAX_MONTHLY_COST_USD`); none when unset. */
  MAX_MONTHLY_COST_USD?: number;
  /** The operator's mandatory protected paths (env `PROTECTED_PATHS`); no repo can drop them. */
  PROTECTED_PATHS?: readonly string[];
  /** Internal ranges sandboxes may reach (env `EGRESS_ALLOW_PRIVATE_RANGES`); the egress proxy gets the same list. */
  EGRESS_ALLOW_PRIVATE_RANGES?: readonly string[];
}

/**
 * Protected unless both the operator and the repo allow workflow edits. Everything
 * under `.github/` can change what CI runs with the repository's secrets (workflows,
 * composite actions in `.github/actions/`, dependabot, CODEOWNERS), and `.gitmodules`
 * can point a submodule at an attacker's repository (issue 14, item 2).
 */
export const BUILTIN_PROTECTED_PATHS: readonly string[] = ['.github/**', '.gitmodules'];

export interface EffectiveRepoConfig {
  triggerPhrase: string | null;
  setupCommand: string | null;
  verifyCommands: string[];
  network: { setup: RepoNetworkPolicy; agent: RepoNetworkPolicy };
  limits: {
    maxTurns: number;
    maxCostUsd: number;
    maxWallMs: number;
  };
  /** The installation's monthly model budget as it applies to this repo (lowered by the repo); null = none. */
  monthlyBudgetUsd: number | null;
  /**
   * Every path the change may not touch, always enforced: the built-in list (unless workflow
   * edits are allowed by both sides), the operator's `PROTECTED_PATHS` and the repo's own
   * `protectedPaths`, which only ever add to the others.
   */
  protectedPaths: string[];
  /**
   * Both the operator and the repo allow workflow edits: the built-in list is already left out
   * of `protectedPaths`. Not a switch that disables `protectedPaths` (the operator's list holds).
   */
  allowProtectedPaths: boolean;
  pr: { draft: boolean; labels: string[]; branchPrefix: string };
  /** Where the change goes; the operator may still force `fork` (FORCE_FORK_DELIVERY). */
  delivery: 'branch' | 'fork';
  maintenance: { id: string; prompt: string; maxOpenPrs: number; maxNewPrsPerHour: number }[];
  /** CI repair of Pullwright's own pull requests; `maxRepairs` is capped by the operator. */
  ci: { repair: boolean; maxRepairs: number };
  updateBranch: 'off' | 'conflicts' | 'always-behind';
  review: { resolveThreads: boolean; selfReview: boolean };
  checkRun: boolean;
  dashboard: boolean;
  /** Globs of the files that key a setup snapshot; [] = the default lockfile list. */
  setupCacheKey: string[];
  /** The repo's narrowing of the operator's tool policy (worker/agent/permissions combines them). */
  permissions: RepoConfig['permissions'];
  /** As the repo asks; the operator's MCP_SERVERS_FILE decides which may run (worker/agent/mcp). */
  mcp: { servers: McpServerConfig[] };
  problems: string[];
}

const RANK: Record<NetworkMode, number> = { none: 0, allowlist: 1, open: 2 };

function capNetwork(
  wanted: RepoNetworkPolicy,
  max: NetworkMode,
  where: string,
  problems: string[],
): RepoNetworkPolicy {
  if (RANK[wanted.mode] <= RANK[max]) return wanted;
  problems.push(`network.${where}: "${wanted.mode}" is above the operator's limit "${max}" (capped)`);
  // An open request capped to allowlist has no hosts to allow: nothing is reachable.
  if (max === 'allowlist') return { mode: 'allowlist', hosts: [] };
  return { mode: 'none' };
}

/** Drops allowlist entries that point inside the worker's network (see internal-hosts.ts). */
function dropInternalHosts(
  policy: RepoNetworkPolicy,
  where: string,
  addresses: { policy: EgressAddressPolicy; anyRangeOptedIn: boolean },
  problems: string[],
): RepoNetworkPolicy {
  if (policy.mode !== 'allowlist') return policy;
  const hosts = policy.hosts.filter((host) => {
    const problem = findInternalHostProblem(host, addresses.policy, addresses.anyRangeOptedIn);
    if (problem) problems.push(`network.${where}.hosts: ${host} is ${problem} (host removed)`);
    return problem === null;
  });
  return { mode: 'allowlist', hosts };
}

function capNumber(wanted: number | undefined, max: number, name: string, problems: string[]): number {
  if (wanted === undefined) return max;
  if (wanted > max) {
    problems.push(`limits.${name}: ${wanted} is above the operator's limit ${max} (capped)`);
    return max;
  }
  return wanted;
}

function capCount(wanted: number, max: number, name: string, problems: string[]): number {
  if (wanted <= max) return wanted;
  problems.push(`${name}: ${wanted} is above the operator's limit ${max} (capped)`);
  return max;
}

/** A repo may lower the installation's monthly budget, never raise it or set one the operator did not. */
function monthlyBudget(
  wanted: number | undefined,
  max: number | undefined,
  problems: string[],
): number | null {
  if (wanted === undefined) return max ?? null;
  if (max !== undefined && wanted > max) {
    problems.push(`limits.monthlyCostUsd: ${wanted} is above the operator's limit ${max} (capped)`);
    return max;
  }
  return wanted;
}

function unique(paths: readonly string[]): string[] {
  return [...new Set(paths.map((p) => p.trim()).filter((p) => p !== ''))];
}

export function getEffectiveRepoConfig(parsed: ParsedRepoConfig, caps: OperatorCaps): EffectiveRepoConfig {
  const { config } = parsed;
  const problems = [...parsed.problems];
  let allowProtectedPaths = config.allowWorkflowEdits;
  if (allowProtectedPaths && !caps.ALLOW_WORKFLOW_EDITS) {
    problems.push('allowWorkflowEdits: the operator does not allow workflow edits (ignored)');
    allowProtectedPaths = false;
  }
  const ranges = caps.EGRESS_ALLOW_PRIVATE_RANGES ?? [];
  const addresses = { policy: new EgressAddressPolicy(ranges), anyRangeOptedIn: ranges.length > 0 };
  const network = (where: 'setup' | 'agent') =>
    dropInternalHosts(
      capNetwork(config.network[where], caps.MAX_NETWORK, where, problems),
      where,
      addresses,
      problems,
    );
  return {
    triggerPhrase: config.trigger,
    setupCommand: config.setup,
    verifyCommands: config.verify,
    network: { setup: network('setup'), agent: network('agent') },
    limits: {
      maxTurns: capNumber(config.limits.turns, caps.MAX_TURNS, 'turns', problems),
      maxCostUsd: capNumber(config.limits.costUsd, caps.MAX_COST_USD, 'costUsd', problems),
      maxWallMs:
        capNumber(config.limits.wallMinutes, caps.MAX_WALL_MINUTES, 'wallMinutes', problems) * 60_000,
    },
    monthlyBudgetUsd: monthlyBudget(config.limits.monthlyCostUsd, caps.MAX_MONTHLY_COST_USD, problems),
    ci: {
      repair: config.ci.repair,
      maxRepairs: capCount(config.ci.maxRepairs, caps.MAX_CI_REPAIRS ?? 2, 'ci.maxRepairs', problems),
    },
    updateBranch: config.updateBranch,
    review: config.review,
    checkRun: config.checkRun,
    dashboard: config.dashboard,
    setupCacheKey: config.setupCacheKey,
    permissions: config.permissions,
    mcp: config.mcp,
    protectedPaths: unique([
      ...(allowProtectedPaths ? [] : BUILTIN_PROTECTED_PATHS),
      ...(caps.PROTECTED_PATHS ?? []),
      ...config.protectedPaths,
    ]),
    allowProtectedPaths,
    pr: config.pr,
    delivery: config.delivery,
    maintenance: config.maintenance.map((t) => ({
      id: t.id,
      prompt: t.prompt,
      maxOpenPrs: t.maxOpenPrs,
      maxNewPrsPerHour: t.maxNewPrsPerHour,
    })),
    problems,
  };
}
