import type { Logger } from '../../src/logger.js';
import type { AgentResult, Budgets } from '../agent/loop/run-agent.js';
import type { AgentTask } from '../agent/tool.js';
import type { NetworkPolicy, Sandbox, SandboxProvider } from '../sandbox/sandbox.js';
import type { AgentRunInput, AgentRunner } from './agent-runner.js';
import { checkCancelled } from './check-cancelled.js';
import type { FreshCopy } from './fresh-copy.js';
import type { PhaseTimings } from './phase-timings.js';
import type { PatchResult, SessionEvent } from './run-agent-session.js';
import { type CommandResult, runCommand } from './run-command.js';
import { verifyInFreshCopy } from './verify-in-fresh-copy.js';

/** What every agent round of one session shares. */
export interface RoundContext {
  sandboxes: SandboxProvider;
  image: string;
  agent: AgentRunner;
  labels: Record<string, string>;
  workspace: { extractPatch(): Promise<PatchResult> };
  freshCopy?: () => Promise<FreshCopy>;
  setupCommand: string | null;
  verifyCommands: string[];
  network: { setup: NetworkPolicy; agent: NetworkPolicy };
  /** Passed through to the runner (the repo's tool permissions and MCP servers, when the runner takes them). */
  runnerExtras: Record<string, unknown>;
  signal: AbortSignal;
  log: Logger;
  secrets: string[];
  emit: (event: SessionEvent) => void;
  onEvent?: (event: SessionEvent) => void;
  timings?: PhaseTimings;
  /** Setup's result for verify's fresh container (never anything the agent touched). */
  restoreEnvironment?: (box: Sandbox, signal: AbortSignal) => Promise<void>;
}

export interface RoundResult {
  agent: AgentResult;
  verify: CommandResult[];
  blockedHosts: string[];
  patch: PatchResult;
}

const NO_PATCH: PatchResult = {
  patch: '',
  paths: [],
  stats: { files: 0, additions: 0, deletions: 0, bytes: 0 },
};

/**
 * One agent round in a started container: the agent → (verify in its container only
 * when no fresh copy can be made) → the hosts the policy blocked → dispose → the
 * patch, read after the container is gone → verify on a fresh copy of the base with
 * only the patch applied. The session runs one; the reviewer's address step a second.
 */
export async function runAgentRound(
  ctx: RoundContext,
  sandbox: Sandbox,
  round: { task: AgentTask; limits: Budgets; transcriptPath: string },
): Promise<RoundResult> {
  const { signal, timings, emit } = ctx;
  let agent: AgentResult;
  const verify: CommandResult[] = [];
  let blockedHosts: string[] = [];
  try {
    emit({ type: 'phase', phase: 'agent' });
    const runInput = {
      sandbox,
      task: round.task,
      repoConfig: { verifyCommands: ctx.verifyCommands, setupCommand: ctx.setupCommand },
      limits: round.limits,
      signal,
      log: ctx.log,
      transcriptPath: round.transcriptPath,
      onEvent: ctx.onEvent,
      hasChanges: async () => (await ctx.workspace.extractPatch()).patch.trim() !== '',
      timings,
      ...ctx.runnerExtras,
    };
    agent = await ctx.agent.run(runInput as AgentRunInput);
    timings?.end('agent');
    ctx.log.info(
      { outcome: agent.outcome, turns: agent.turns, costUsd: agent.usage.costUsd },
      'Agent finished',
    );
    if (agent.outcome === 'cancelled') return { agent, verify, blockedHosts, patch: NO_PATCH };
    if (!ctx.freshCopy) {
      if (ctx.verifyCommands.length > 0)
        ctx.log.warn('Verify runs in the agent container (the workspace cannot make a fresh copy)');
      emit({ type: 'phase', phase: 'verify' });
      for (const command of ctx.verifyCommands) {
        checkCancelled(signal);
        verify.push(await runCommand(sandbox, command, signal, ctx.secrets));
      }
      timings?.end('verify');
    }
    blockedHosts = (await sandbox.blockedConnections()).map((b) => b.host);
  } finally {
    await sandbox.dispose();
  }
  // Read only after the container is gone, so nothing can change the tree while it is read.
  const patch = await ctx.workspace.extractPatch();
  timings?.end('extract');
  if (ctx.freshCopy && ctx.verifyCommands.length > 0) {
    emit({ type: 'phase', phase: 'verify' });
    const fresh = await verifyInFreshCopy({
      sandboxes: ctx.sandboxes,
      image: ctx.image,
      labels: ctx.labels,
      freshCopy: ctx.freshCopy,
      patch: patch.patch,
      setupCommand: ctx.setupCommand,
      verifyCommands: ctx.verifyCommands,
      network: ctx.network,
      signal,
      secrets: ctx.secrets,
      log: ctx.log,
      restoreEnvironment: ctx.restoreEnvironment,
    });
    verify.push(...fresh.verify);
    blockedHosts.push(...fresh.blockedHosts);
    timings?.end('verify');
  }
  return { agent, verify, blockedHosts: [...new Set(blockedHosts)], patch };
}
