import { EMPTY_RULES, narrowNetworkPolicy, resolveToolPolicy } from '../agent/permissions/index.js';
import { JOB_LABEL } from '../sandbox/sandbox-labels.js';
import type { CommandResult } from '../session/run-agent-session.js';
import { verifyInFreshCopy } from '../session/verify-in-fresh-copy.js';
import type { FlowContext } from './flow-context.js';

/**
 * The repository's verify commands on a clean merge (or rebase) of the base into a PR's
 * branch, before it is pushed (issue 15 item 2). A merge without textual conflicts can still
 * break the build: a function renamed on the base and called by its old name on the branch
 * (a semantic conflict). Pushing it would turn a green PR red with a commit nobody checked,
 * so the merge is verified like an agent's change: a fresh copy of the merged commit, the
 * repository's setup in its own container (setup network), then the verify commands in a new
 * container with the agent's network, exactly as a conflict resolution is verified. Nothing
 * of an agent runs here and no secret enters either container.
 */
export async function verifyMerge(
  ctx: FlowContext,
  sha: string,
): Promise<{ verify: CommandResult[]; blockedHosts: string[] }> {
  const { deps, task, config } = ctx;
  const workspace = await deps.workspaces.prepare({
    repo: task.repo,
    token: ctx.github.token,
    ref: sha,
    jobId: ctx.jobId,
  });
  try {
    if (!workspace.freshCopy) throw new Error('This workspace cannot make a fresh copy for verify.');
    const policy = resolveToolPolicy(deps.session.operatorPolicy ?? EMPTY_RULES, config.permissions);
    return await verifyInFreshCopy({
      sandboxes: deps.session.sandboxes,
      image: deps.session.image,
      labels: { [JOB_LABEL]: ctx.jobId },
      freshCopy: workspace.freshCopy.bind(workspace),
      patch: '',
      setupCommand: config.setupCommand,
      verifyCommands: config.verifyCommands,
      network: { setup: config.network.setup, agent: narrowNetworkPolicy(config.network.agent, policy) },
      signal: ctx.signal,
      secrets: ctx.secrets,
      log: ctx.log,
    });
  } finally {
    await workspace.dispose();
  }
}
