import type { RepoRef } from '../../src/domain/task.js';
import type { GitHubForWorker } from '../../src/github/github-for-worker.js';
import { getEffectiveRepoConfig, type OperatorCaps } from '../../src/repo-config/effective-repo-config.js';
import { parseRepoConfig, REPO_CONFIG_PATH } from '../../src/repo-config/repo-config.js';
import type { FlowRepoConfig } from './flow-config.js';

/**
 * Reads `.github/pullwright.yml` from the default branch (never a PR head, which
 * anyone who can open a PR controls) and caps it by the operator's limits.
 * A broken file yields defaults plus the list of problems, never a crash.
 */
export async function loadFlowConfig(
  github: GitHubForWorker,
  repo: RepoRef,
  caps: OperatorCaps,
): Promise<FlowRepoConfig> {
  const text = await github.getDefaultBranchFile(repo, REPO_CONFIG_PATH);
  const effective = getEffectiveRepoConfig(parseRepoConfig(text), caps);
  return {
    setupCommand: effective.setupCommand,
    verifyCommands: effective.verifyCommands,
    network: effective.network,
    limits: effective.limits,
    protectedPaths: effective.protectedPaths,
    allowProtectedPaths: effective.allowProtectedPaths,
    pr: effective.pr,
    maintenance: effective.maintenance,
    problems: effective.problems,
  };
}
