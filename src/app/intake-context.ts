import type { Redis } from 'ioredis';
import type { NetworkMode } from '../config/env.js';
import type { RepoRef } from '../domain/task.js';
import type { GitHubPort } from '../github/github-port.js';
import type { Logger } from '../logger.js';
import type { Metrics } from '../metrics/metrics.js';
import { createFollowUpMarks, type FollowUpMarks } from '../queue/follow-up-marks.js';
import type { MaintenanceCapsStore } from '../queue/maintenance-caps.js';
import type { ParkedDelivery } from '../queue/parked-deliveries.js';
import { createRepoConfigMarks, type RepoConfigMarks } from '../queue/repo-config-marks.js';
import type { TaskQueue } from '../queue/task-queue.js';
import { createPermissionChecker, type PermissionChecker } from './authorization.js';
import {
  createDashboardRefresher,
  type DashboardAction,
  type DashboardIssues,
} from './maintenance-dashboard.js';
import { createRepoConfigSource, type RepoConfigSource } from './repo-config-source.js';

export interface IntakeSettings {
  appSlug: string;
  botLogin: string;
  triggerPhrase: string;
  /** Quiet period that coalesces a burst of review comments into one job. */
  reviewQuietMs: number;
  /**
   * How long a CI repair waits after the first red result on a head (default 15 s), so the
   * other suites of the same push can finish and the repair sees every failure at once.
   */
  ciSettleMs?: number;
  /** How long a base push waits for GitHub to compute a PR's mergeability (default 10 s). */
  mergeabilityTimeoutMs?: number;
  /** Operator caps; what a repo's file asks above them is listed in the config comment. */
  caps: {
    MAX_NETWORK: NetworkMode;
    ALLOW_WORKFLOW_EDITS: boolean;
    MAX_TURNS?: number;
    MAX_COST_USD?: number;
    MAX_WALL_MINUTES?: number;
    MAX_CI_REPAIRS?: number;
    MAX_MONTHLY_COST_USD?: number;
    /** So the comment does not call a host refused that the operator opted in. */
    EGRESS_ALLOW_PRIVATE_RANGES?: readonly string[];
    PROTECTED_PATHS?: readonly string[];
  };
}

export interface IntakeDeps {
  settings: IntakeSettings;
  redis: Redis;
  taskQueue: TaskQueue;
  metrics: Metrics;
  log: Logger;
  maintenanceCaps: MaintenanceCapsStore;
  github: GitHubPort;
  /** Keeps a delivery GitHub could not help with for a later replay (absent: answer 5xx). */
  park?: (delivery: ParkedDelivery) => Promise<void>;
}

/** What every part of the intake works with: its dependencies plus the caches made from them. */
export interface IntakeContext extends IntakeDeps {
  /** BullMQ key prefix of the task queue; the app's own keys live under it too. */
  prefix: string;
  permissions: PermissionChecker;
  repoConfigs: RepoConfigSource;
  configMarks: RepoConfigMarks;
  /** Heads Pullwright pushed per PR, their origin, and repair/update claims (follow-ups). */
  followUps: FollowUpMarks;
  /** Brings the repository's maintenance dashboard issue up to date (config from the cache). */
  refreshDashboard(installationId: number, repo: RepoRef): Promise<DashboardAction>;
  /** Runs work after the delivery is answered; a failure is logged, never thrown. */
  background(log: Logger, what: string, work: () => Promise<unknown>): void;
}

/** The app's GitHub port bound to one repository, in the shape the dashboard uses. */
function dashboardIssuesOf(github: GitHubPort, installationId: number, repo: RepoRef): DashboardIssues {
  return {
    findIssueByMarker: (marker, options) => github.findIssueByMarker(installationId, repo, marker, options),
    createIssue: (input) => github.createIssue(installationId, repo, input),
    updateIssue: (number, change) => github.updateIssue(installationId, repo, number, change),
  };
}

export function createIntakeContext(deps: IntakeDeps): IntakeContext {
  const prefix = deps.taskQueue.prefix;
  const repoConfigs = createRepoConfigSource(deps.github, deps.redis, prefix);
  const dashboards = createDashboardRefresher({
    redis: deps.redis,
    prefix,
    botLogin: deps.settings.botLogin,
  });
  return {
    ...deps,
    prefix,
    permissions: createPermissionChecker(deps.github, deps.redis, prefix),
    repoConfigs,
    async refreshDashboard(installationId, repo) {
      const loaded = await repoConfigs.load(installationId, repo);
      const result = await dashboards.refresh({
        issues: dashboardIssuesOf(deps.github, installationId, repo),
        installationId,
        repo,
        config: loaded.config,
      });
      return result.action;
    },
    configMarks: createRepoConfigMarks(deps.redis, prefix),
    followUps: createFollowUpMarks(deps.redis, prefix),
    background(log, what, work) {
      work().catch((err: unknown) => log.warn({ err, what }, 'Background GitHub call failed'));
    },
  };
}
