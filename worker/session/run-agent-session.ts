import type { Logger } from '../../src/logger.js';
import type { EffectiveRepoConfig } from '../../src/repo-config/effective-repo-config.js';
import type { AgentResult, Budgets } from '../agent/loop/run-agent.js';
import type { AgentEvent, AgentTask } from '../agent/tool.js';
import type { EnvironmentService } from '../environment/environment-service.js';
import type { Sandbox, SandboxProvider } from '../sandbox/sandbox.js';
import type { PatchStats } from '../workspace/patch.js';
import type { AgentRunner } from './agent-runner.js';
import { checkCancelled } from './check-cancelled.js';
import type { FreshCopy } from './fresh-copy.js';
import type { PhaseTimings } from './phase-timings.js';
import {
  type EnvironmentReport,
  type PreparedEnvironment,
  prepareEnvironment,
  type SessionScope,
} from './prepare-environment.js';
import { type CommandResult, runCommand } from './run-command.js';
import { verifyInFreshCopy } from './verify-in-fresh-copy.js';

export type { FreshCopy } from './fresh-copy.js';
export type { EnvironmentReport, SessionScope } from './prepare-environment.js';
export { COMMAND_TIMEOUT_MS, type CommandResult, OUTPUT_TAIL_CHARS } from './run-command.js';

/**
 * One agent session, the same for the worker's flows and `pullwright run`:
 * a prepared working copy → the setup command in its own container (setup
 * network) → the agent in a fresh container (agent network) → the hosts the
 * policy blocked → the change as a patch → the verify commands on a fresh copy
 * of the base with only that patch applied (verify-in-fresh-copy.ts). The caller
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
  /**
   * A new working copy of `baseSha` from the host's cache, for verify (issue 14
   * item 6: nothing the agent left outside the patch may reach it). The worker and
   * the CLI give one (`createFreshCopier`); without it verify falls back to the
   * agent's own container, which the agent could have poisoned.
   */
  freshCopy?(): Promise<FreshCopy>;
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

/** What the session reports besides the loop's own events, for progress displays. */
export type SessionEvent =
  | AgentEvent
  | { type: 'phase'; phase: 'setup' | 'sandbox' | 'agent' | 'verify' }
  | { type: 'setup-failed'; exitCode: number | null }
  /** How the agent's environment was made: restored from a snapshot, or set up (and whether kept). */
  | { type: 'environment'; report: EnvironmentReport };

export interface AgentSessionDeps {
  sandboxes: SandboxProvider;
  /** The sandbox image both containers run. */
  image: string;
  agent: AgentRunner;
  /**
   * Snapshots and setup-only secrets (issue 17); absent: setup runs in the agent's
   * working copy every time, without secrets.
   */
  environment?: EnvironmentService;
  /**
   * The agent's tool calls go through the in-container exec server when it answers
   * (env SANDBOX_EXEC_SERVER, default on); false keeps Docker exec for every call.
   */
  execServer?: boolean;
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
  /**
   * The installation and repository: with `deps.environment` and a workspace that can
   * make fresh copies, setup's result is snapshotted per scope and setup secrets apply.
   */
  scope?: SessionScope;
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
  /**
   * How the agent's environment was made (snapshot restored, or setup and whether it
   * was kept). Always set by runAgentSession; optional for results other code builds.
   */
  environment?: EnvironmentReport;
}

const NO_PATCH: PatchResult = {
  patch: '',
  paths: [],
  stats: { files: 0, additions: 0, deletions: 0, bytes: 0 },
};

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
  let environment: EnvironmentReport = { source: 'none' };
  let prepared: PreparedEnvironment | null = null;
  const legacySetup = async (setupCommand: string) => {
    const setupBox = await create(repoConfig.network.setup);
    try {
      setup = await runCommand(setupBox, setupCommand, signal, secrets);
    } finally {
      await setupBox.dispose();
    }
  };
  checkCancelled(signal);
  const setupCommand = repoConfig.setupCommand;
  const freshCopy = workspace.freshCopy?.bind(workspace);
  try {
    if (setupCommand) {
      // Setup may need the network (installing dependencies); the agent then gets its own,
      // usually stricter, policy in a fresh container on the same working copy.
      emit({ type: 'phase', phase: 'setup' });
      if (deps.environment && input.scope && freshCopy) {
        prepared = await prepareEnvironment({
          service: deps.environment,
          sandboxes: deps.sandboxes,
          image: deps.image,
          labels: input.labels,
          scope: input.scope,
          workDir: workspace.workDir,
          freshCopy,
          setupCommand,
          setupNetwork: repoConfig.network.setup,
          signal,
          secrets,
          log: input.log,
        });
        setup = prepared.setup;
        environment = prepared.report;
        // Nothing to unpack (the capture failed or was too large): set up in place, without secrets.
        if (!prepared.restore && environment.source === 'setup' && environment.reason !== 'secret')
          await legacySetup(setupCommand);
      } else {
        environment = { source: 'setup', snapshot: 'off' };
        await legacySetup(setupCommand);
      }
      const done = setup as CommandResult | null;
      if (done && done.exitCode !== 0) emit({ type: 'setup-failed', exitCode: done.exitCode });
      timings?.end('setup');
    }

    checkCancelled(signal);
    emit({ type: 'phase', phase: 'sandbox' });
    let sandbox: Sandbox = await create(repoConfig.network.agent);
    // Started beside the restore; only the agent's container ever gets one (never setup or verify).
    const startServer = (box: Sandbox) =>
      deps.execServer === false
        ? Promise.resolve(false)
        : (box.useExecServer?.().catch(() => false) ?? Promise.resolve(false));
    let serverStarted = startServer(sandbox);
    if (prepared?.restore) {
      const started = Date.now();
      try {
        await prepared.restore(sandbox, signal);
        if (environment.source !== 'none') environment = { ...environment, restoreMs: Date.now() - started };
      } catch (err) {
        checkCancelled(signal);
        // A snapshot that does not unpack is not trusted further: set up from scratch instead.
        input.log.warn({ err }, 'Restoring the environment failed; running setup instead');
        await sandbox.dispose();
        await legacySetup(setupCommand as string);
        environment = { source: 'setup', snapshot: 'not-saved', reason: 'restore-failed' };
        prepared = { ...prepared, restore: null };
        sandbox = await create(repoConfig.network.agent);
        serverStarted = startServer(sandbox);
      }
    }
    if (!(await serverStarted) && deps.execServer !== false && sandbox.useExecServer)
      input.log.info('Tool calls use Docker exec (the exec server did not start)');
    if (setupCommand && deps.environment) emit({ type: 'environment', report: environment });
    timings?.end('sandbox');
    return await runAgentAndVerify(sandbox);
  } finally {
    await prepared?.dispose();
  }

  async function runAgentAndVerify(sandbox: Sandbox): Promise<AgentSessionResult> {
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
      if (agent.outcome === 'cancelled')
        return { agent, setup, verify, blockedHosts, patch: NO_PATCH, environment };
      if (!workspace.freshCopy) {
        if (repoConfig.verifyCommands.length > 0)
          input.log.warn('Verify runs in the agent container (the workspace cannot make a fresh copy)');
        emit({ type: 'phase', phase: 'verify' });
        for (const command of repoConfig.verifyCommands) {
          checkCancelled(signal);
          verify.push(await runCommand(sandbox, command, signal, secrets));
        }
        timings?.end('verify');
      }
      blockedHosts = (await sandbox.blockedConnections()).map((b) => b.host);
    } finally {
      await sandbox.dispose();
    }
    // Read only after the container is gone, so nothing can change the tree while it is read.
    const patch = await workspace.extractPatch();
    timings?.end('extract');
    if (freshCopy && repoConfig.verifyCommands.length > 0) {
      emit({ type: 'phase', phase: 'verify' });
      const fresh = await verifyInFreshCopy({
        sandboxes: deps.sandboxes,
        image: deps.image,
        labels: input.labels,
        freshCopy,
        patch: patch.patch,
        setupCommand: repoConfig.setupCommand,
        verifyCommands: repoConfig.verifyCommands,
        network: repoConfig.network,
        signal,
        secrets,
        log: input.log,
        // Setup's result as the agent got it (never anything the agent touched): verify skips setup.
        restoreEnvironment: prepared?.restore ?? undefined,
      });
      verify.push(...fresh.verify);
      blockedHosts.push(...fresh.blockedHosts);
      timings?.end('verify');
    }
    return { agent, setup, verify, blockedHosts: [...new Set(blockedHosts)], patch, environment };
  }
}
