import type { Logger } from '../../src/logger.js';
import { redactText } from '../../src/logger.js';
import type { EffectiveRepoConfig } from '../../src/repo-config/effective-repo-config.js';
import type { AgentResult, Budgets } from '../agent/loop/run-agent.js';
import type { AgentEvent, AgentTask } from '../agent/tool.js';
import type { Sandbox, SandboxProvider } from '../sandbox/sandbox.js';
import type { PatchStats } from '../workspace/patch.js';
import type { AgentRunner } from './agent-runner.js';
import { checkCancelled } from './check-cancelled.js';
import type { PhaseTimings } from './phase-timings.js';

/**
 * One agent session, the same for the worker's flows and `pullwright run`:
 * a prepared working copy → the setup command in its own container (setup
 * network) → the agent in a fresh container (agent network) → the verify
 * commands → the hosts the policy blocked → the change as a patch. The caller
 * prepared the workspace and disposes it; every container is disposed here.
 */

/** A credential-free working copy the caller prepared; the session only mounts it and reads its diff. */
export interface SessionWorkspace {
  /** Host path of the working copy the sandboxes mount. */
  workDir: string;
  /** The commit the working copy starts from. */
  baseSha: string;
  /** Reads the tree as data and returns its change against `baseSha`. */
  extractPatch(): Promise<PatchResult>;
}

export interface PatchResult {
  patch: string;
  /** Every path the patch touches. */
  paths: string[];
  stats: PatchStats;
}

/** The part of the repository's effective settings a session uses. */
export type SessionRepoConfig = Pick<
  EffectiveRepoConfig,
  'setupCommand' | 'verifyCommands' | 'network' | 'limits'
>;

/** One command the session ran for the repository (setup or verify). */
export interface CommandResult {
  command: string;
  /** null when the command was killed (timeout, OOM, abort). */
  exitCode: number | null;
  ok: boolean;
  timedOut: boolean;
  durationMs: number;
  /** The end of stdout then stderr, capped at OUTPUT_TAIL_CHARS, secrets scrubbed. */
  outputTail: string;
}

/** What the session reports besides the loop's own events, for progress displays. */
export type SessionEvent =
  | AgentEvent
  | { type: 'phase'; phase: 'setup' | 'sandbox' | 'agent' | 'verify' }
  | { type: 'setup-failed'; exitCode: number | null };

export interface AgentSessionDeps {
  sandboxes: SandboxProvider;
  /** The sandbox image both containers run. */
  image: string;
  agent: AgentRunner;
}

export interface AgentSessionInput {
  workspace: SessionWorkspace;
  task: AgentTask;
  repoConfig: SessionRepoConfig;
  /** The run's budgets; default `repoConfig.limits` (the CLI's flags narrow them). */
  limits?: Budgets;
  /** Put on both containers (the job or run id); the provider adds its own host label. */
  labels: Record<string, string>;
  signal: AbortSignal;
  log: Logger;
  transcriptPath: string;
  /** Scrubbed from command output (tokens, keys). */
  secrets?: string[];
  onEvent?: (event: SessionEvent) => void;
  timings?: PhaseTimings;
}

export interface AgentSessionResult {
  agent: AgentResult;
  /** null when the repository declares no setup command. */
  setup: CommandResult | null;
  /** In declaration order; empty when the agent was cancelled. */
  verify: CommandResult[];
  /** Hosts the agent container's network policy refused, deduplicated. */
  blockedHosts: string[];
  /** Empty when the agent was cancelled (nothing of a cancelled run is delivered). */
  patch: PatchResult;
}

export const COMMAND_TIMEOUT_MS = 15 * 60_000;
export const OUTPUT_TAIL_CHARS = 2_000;
const NO_PATCH: PatchResult = {
  patch: '',
  paths: [],
  stats: { files: 0, additions: 0, deletions: 0, bytes: 0 },
};

async function runCommand(
  sandbox: Sandbox,
  command: string,
  signal: AbortSignal,
  secrets: string[],
): Promise<CommandResult> {
  const run = await sandbox.exec({ cmd: command, timeoutMs: COMMAND_TIMEOUT_MS, signal });
  const output = `${run.stdout}${run.stderr}`;
  return {
    command,
    exitCode: run.exitCode,
    ok: run.exitCode === 0 && !run.timedOut,
    timedOut: run.timedOut,
    durationMs: run.durationMs,
    outputTail: redactText(output.slice(-OUTPUT_TAIL_CHARS), secrets),
  };
}

export async function runAgentSession(
  deps: AgentSessionDeps,
  input: AgentSessionInput,
): Promise<AgentSessionResult> {
  const { workspace, repoConfig, signal, timings } = input;
  const secrets = input.secrets ?? [];
  const emit = (event: SessionEvent) => input.onEvent?.(event);
  const create = (network: SessionRepoConfig['network']['agent']) =>
    deps.sandboxes.create({ image: deps.image, network, labels: input.labels }, workspace.workDir);

  let setup: CommandResult | null = null;
  checkCancelled(signal);
  if (repoConfig.setupCommand) {
    // Setup may need the network (installing dependencies); the agent then gets its own,
    // usually stricter, policy in a fresh container on the same working copy.
    emit({ type: 'phase', phase: 'setup' });
    const setupBox = await create(repoConfig.network.setup);
    try {
      setup = await runCommand(setupBox, repoConfig.setupCommand, signal, secrets);
    } finally {
      await setupBox.dispose();
    }
    if (setup.exitCode !== 0) emit({ type: 'setup-failed', exitCode: setup.exitCode });
    timings?.end('setup');
  }

  checkCancelled(signal);
  emit({ type: 'phase', phase: 'sandbox' });
  const sandbox = await create(repoConfig.network.agent);
  timings?.end('sandbox');
  let agent: AgentResult;
  const verify: CommandResult[] = [];
  let blockedHosts: string[] = [];
  try {
    emit({ type: 'phase', phase: 'agent' });
    agent = await deps.agent.run({
      sandbox,
      task: input.task,
      repoConfig: { verifyCommands: repoConfig.verifyCommands, setupCommand: repoConfig.setupCommand },
      limits: input.limits ?? repoConfig.limits,
      signal,
      log: input.log,
      transcriptPath: input.transcriptPath,
      onEvent: input.onEvent,
      hasChanges: async () => (await workspace.extractPatch()).patch.trim() !== '',
      timings,
    });
    timings?.end('agent');
    input.log.info(
      { outcome: agent.outcome, turns: agent.turns, costUsd: agent.usage.costUsd },
      'Agent finished',
    );
    if (agent.outcome === 'cancelled') return { agent, setup, verify, blockedHosts, patch: NO_PATCH };
    emit({ type: 'phase', phase: 'verify' });
    for (const command of repoConfig.verifyCommands) {
      checkCancelled(signal);
      verify.push(await runCommand(sandbox, command, signal, secrets));
    }
    timings?.end('verify');
    blockedHosts = [...new Set((await sandbox.blockedConnections()).map((b) => b.host))];
  } finally {
    await sandbox.dispose();
  }
  // Read only after the container is gone, so nothing can change the tree while it is read.
  const patch = await workspace.extractPatch();
  timings?.end('extract');
  return { agent, setup, verify, blockedHosts, patch };
}
