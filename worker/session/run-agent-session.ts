import type { Logger } from '../../src/logger.js';
import type { EffectiveRepoConfig } from '../../src/repo-config/effective-repo-config.js';
import type { AgentResult, Budgets } from '../agent/loop/run-agent.js';
import type { PermissionRules } from '../agent/permissions/tool-policy.js';
import {
  type ReviewBeforeDeliveryInput,
  reviewBeforeDelivery,
} from '../agent/review/review-before-delivery.js';
import type { SelfReview } from '../agent/review/run-self-review.js';
import type { AgentEvent, AgentTask } from '../agent/tool.js';
import type { EnvironmentService } from '../environment/environment-service.js';
import type { Sandbox, SandboxProvider } from '../sandbox/sandbox.js';
import type { PatchStats } from '../workspace/patch.js';
import type { AgentRunner } from './agent-runner.js';
import { checkCancelled } from './check-cancelled.js';
import {
  agentNetworkOf,
  type EarlyAgentSandbox,
  startAgentSandbox,
  startExecServer,
} from './early-sandbox.js';
import type { FreshCopy } from './fresh-copy.js';
import type { PhaseTimings } from './phase-timings.js';
import {
  type EnvironmentReport,
  type PreparedEnvironment,
  prepareEnvironment,
  type SessionScope,
} from './prepare-environment.js';
import { type RoundContext, runAgentRound } from './run-agent-round.js';
import { type CommandResult, runCommand } from './run-command.js';

export { type EarlyAgentSandbox, startAgentSandbox } from './early-sandbox.js';
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
> &
  /** Optional so callers without them (the CLI, tests) keep working: no narrowing, no review. */
  Partial<Pick<EffectiveRepoConfig, 'permissions' | 'mcp' | 'review'>>;

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
  /** The operator's tool policy (TOOL_POLICY_FILE, the harness's `policy`); a repo only narrows it. */
  operatorPolicy?: PermissionRules;
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
  /**
   * The agent's container, started by the caller on `workspace.workDir` while the working
   * copy was being written (`startAgentSandbox`); used as the first agent container and
   * always disposed here. Absent: the session starts it after setup.
   */
  earlySandbox?: EarlyAgentSandbox;
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
  /** The reviewer's verdict before delivery (repo `review.selfReview`); null or absent when none ran. */
  review?: SelfReview | null;
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

  // The tool policy's network rules narrow the agent container's network (they never widen it).
  const agentNetwork = agentNetworkOf(deps, repoConfig);
  // Only the agent's container ever gets the exec server (never setup or verify).
  const startServer = (box: Sandbox) => startExecServer(deps, box);
  // With a setup phase, the agent's container starts now and overlaps it (a snapshot lookup
  // on a warm run, the whole setup on a cold one) unless the caller started it even earlier.
  const early =
    input.earlySandbox ??
    (repoConfig.setupCommand
      ? startAgentSandbox(deps, { workDir: workspace.workDir, repoConfig, labels: input.labels })
      : undefined);
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
  const setupCommand = repoConfig.setupCommand;
  const freshCopy = workspace.freshCopy?.bind(workspace);
  try {
    checkCancelled(signal);
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
    let sandbox: Sandbox;
    let serverStarted: Promise<boolean>;
    if (early) {
      sandbox = await early.sandbox;
      serverStarted = early.serverStarted;
    } else {
      sandbox = await create(agentNetwork);
      serverStarted = startServer(sandbox);
    }
    // The early container measured its disk baseline before the checkout (and setup, when
    // it ran in place) filled the folder; a restore re-measures it, otherwise it is done here.
    let rebaseline = early !== undefined;
    if (prepared?.restore) {
      const started = Date.now();
      try {
        // A small snapshot unpacks in one request to the exec server: wait for it (milliseconds).
        await serverStarted;
        await prepared.restore(sandbox, signal);
        rebaseline = false;
        if (environment.source !== 'none') environment = { ...environment, restoreMs: Date.now() - started };
      } catch (err) {
        await sandbox.dispose();
        checkCancelled(signal);
        // A snapshot that does not unpack is not trusted further: set up from scratch instead.
        input.log.warn({ err }, 'Restoring the environment failed; running setup instead');
        await legacySetup(setupCommand as string);
        environment = { source: 'setup', snapshot: 'not-saved', reason: 'restore-failed' };
        prepared = { ...prepared, restore: null, restoreHome: null };
        sandbox = await create(agentNetwork);
        serverStarted = startServer(sandbox);
        rebaseline = false;
      }
    }
    if (rebaseline) await sandbox.resetDiskBaseline?.();
    if (!(await serverStarted) && deps.execServer !== false && sandbox.useExecServer)
      input.log.info('Tool calls use Docker exec (the exec server did not start)');
    if (setupCommand && deps.environment) emit({ type: 'environment', report: environment });
    timings?.end('sandbox');

    const limits = input.limits ?? repoConfig.limits;
    const ctx: RoundContext = {
      sandboxes: deps.sandboxes,
      image: deps.image,
      agent: deps.agent,
      labels: input.labels,
      workspace,
      freshCopy,
      setupCommand: repoConfig.setupCommand,
      verifyCommands: repoConfig.verifyCommands,
      network: { setup: repoConfig.network.setup, agent: agentNetwork },
      runnerExtras: {
        ...(repoConfig.permissions !== undefined ? { permissions: repoConfig.permissions } : {}),
        ...(repoConfig.mcp !== undefined ? { mcp: repoConfig.mcp } : {}),
      },
      signal,
      log: input.log,
      secrets,
      emit,
      onEvent: input.onEvent,
      timings,
      restoreEnvironment: prepared?.restore ?? undefined,
    };
    const first = await runAgentRound(ctx, sandbox, {
      task: input.task,
      limits,
      transcriptPath: input.transcriptPath,
    });
    if (first.agent.outcome === 'cancelled') return { ...first, setup, environment };
    const review = (
      deps.agent as { review?: ReviewBeforeDeliveryInput<PatchResult, CommandResult>['review'] }
    ).review;
    const restoreHome = prepared?.restoreHome ?? null;
    const reviewed = await reviewBeforeDelivery<PatchResult, CommandResult>({
      enabled: repoConfig.review?.selfReview ?? false,
      review: review?.bind(deps.agent),
      task: input.task,
      change: first,
      limits,
      signal,
      log: input.log,
      transcriptPath: input.transcriptPath,
      onEvent: input.onEvent,
      // One more round on the same working copy: a new agent container (same network), whose
      // HOME gets setup's again (the workspace keeps what the first round left).
      address: async (task, roundLimits, transcriptPath) => {
        checkCancelled(signal);
        const box = await create(agentNetwork);
        try {
          await startServer(box);
          await restoreHome?.(box, signal);
        } catch (err) {
          await box.dispose();
          throw err;
        }
        return runAgentRound(ctx, box, { task, limits: roundLimits, transcriptPath });
      },
    });
    return { ...reviewed, setup, environment };
  } finally {
    await prepared?.dispose();
    // Idempotent: the agent round disposed it already unless the session stopped before it.
    await early?.dispose();
  }
}
