import type { RepoRef } from '../domain/task.js';
import { type EffectiveRepoConfig, getEffectiveRepoConfig } from '../repo-config/effective-repo-config.js';
import { REPO_CONFIG_PATH } from '../repo-config/repo-config.js';
import type { IntakeContext } from './intake-context.js';
import type { LoadedRepoConfig } from './repo-config-source.js';

/** The file's own problems plus what the operator's caps cut back. */
export function configProblems(ctx: IntakeContext, config: LoadedRepoConfig): string[] {
  return effectiveConfigOf(ctx, config).problems;
}

/** The repo's settings capped by the operator, as the worker will apply them (e.g. `ci.maxRepairs`). */
export function effectiveConfigOf(ctx: IntakeContext, config: LoadedRepoConfig): EffectiveRepoConfig {
  const caps = ctx.settings.caps;
  return getEffectiveRepoConfig(config, {
    MAX_NETWORK: caps.MAX_NETWORK,
    ALLOW_WORKFLOW_EDITS: caps.ALLOW_WORKFLOW_EDITS,
    MAX_TURNS: caps.MAX_TURNS ?? Number.POSITIVE_INFINITY,
    MAX_COST_USD: caps.MAX_COST_USD ?? Number.POSITIVE_INFINITY,
    MAX_WALL_MINUTES: caps.MAX_WALL_MINUTES ?? Number.POSITIVE_INFINITY,
    MAX_CI_REPAIRS: caps.MAX_CI_REPAIRS,
    MAX_MONTHLY_COST_USD: caps.MAX_MONTHLY_COST_USD,
    EGRESS_ALLOW_PRIVATE_RANGES: caps.EGRESS_ALLOW_PRIVATE_RANGES,
    PROTECTED_PATHS: caps.PROTECTED_PATHS,
  });
}

/**
 * Tells the people on the issue that the repo's config file has problems. One
 * comment per version of a broken file, not one per delivery: the claim is per
 * blob sha, and is given back when the comment could not be posted.
 */
export async function commentConfigProblemsOnce(
  ctx: IntakeContext,
  input: { installationId: number; repo: RepoRef; number: number; sha: string; problems: string[] },
): Promise<void> {
  const { installationId, repo, sha } = input;
  if (!(await ctx.configMarks.claimProblemComment(installationId, repo, sha))) return;
  const body = [
    `⚠️ \`${REPO_CONFIG_PATH}\` on the default branch has problems; Pullwright uses the defaults (or the operator's limits) for these settings:`,
    '',
    ...input.problems.map((p) => `- ${p.replace(/[\r\n]+/g, ' ')}`),
    '',
    'See docs/configuration.md for the format. This comment is posted once per version of the file.',
  ].join('\n');
  try {
    await ctx.github.createComment(installationId, repo, input.number, body);
  } catch (err) {
    await ctx.configMarks.releaseProblemComment(installationId, repo, sha);
    throw err;
  }
}
