import { toPullwrightError } from '../../src/errors.js';
import type { RepoGitHub } from '../../src/github/github-for-worker.js';
import { getEffectiveRepoConfig, type OperatorCaps } from '../../src/repo-config/effective-repo-config.js';
import { parseRepoConfig, REPO_CONFIG_PATH } from '../../src/repo-config/repo-config.js';
import type { FlowRepoConfig } from './flow-config.js';

/**
 * Reads `.github/pullwright.yml` from the default branch (never a PR head, which
 * anyone who can open a PR controls) and caps it by the operator's limits.
 * A broken file yields defaults plus the list of problems, never a crash; so
 * does a file too large to read (the GitHub port refuses it with `config_invalid`).
 */
export async function loadFlowConfig(
  github: Pick<RepoGitHub, 'getDefaultBranchFile'>,
  caps: OperatorCaps,
): Promise<FlowRepoConfig> {
  let text: string | null;
  try {
    text = await github.getDefaultBranchFile(REPO_CONFIG_PATH);
  } catch (raw) {
    const err = toPullwrightError(raw);
    if (err.code !== 'config_invalid') throw err;
    const defaults = getEffectiveRepoConfig(parseRepoConfig(null), caps);
    return { ...defaults, problems: [err.message, ...defaults.problems] };
  }
  return getEffectiveRepoConfig(parseRepoConfig(text), caps);
}
