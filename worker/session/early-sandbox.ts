import { narrowNetworkPolicy } from '../agent/permissions/narrow-network-policy.js';
import { EMPTY_RULES, type PermissionRules, resolveToolPolicy } from '../agent/permissions/tool-policy.js';
import type { NetworkPolicy, Sandbox, SandboxProvider } from '../sandbox/sandbox.js';

/** What starting the agent's container needs from the session's deps. */
export interface AgentSandboxDeps {
  sandboxes: SandboxProvider;
  image: string;
  /** false keeps Docker exec for every tool call (env SANDBOX_EXEC_SERVER). */
  execServer?: boolean;
  operatorPolicy?: PermissionRules;
}

/**
 * The agent container's network: the repository's agent policy, narrowed (never widened)
 * by the tool policy's network rules.
 */
export function agentNetworkOf(
  deps: Pick<AgentSandboxDeps, 'operatorPolicy'>,
  repoConfig: { network: { agent: NetworkPolicy }; permissions?: unknown },
): NetworkPolicy {
  const toolPolicy = resolveToolPolicy(deps.operatorPolicy ?? EMPTY_RULES, repoConfig.permissions);
  return narrowNetworkPolicy(repoConfig.network.agent, toolPolicy);
}

/** Routes a container's tool calls through its exec server (the agent's container only); false when not. */
export function startExecServer(deps: Pick<AgentSandboxDeps, 'execServer'>, box: Sandbox): Promise<boolean> {
  if (deps.execServer === false || !box.useExecServer) return Promise.resolve(false);
  return box.useExecServer().catch(() => false);
}

/**
 * The agent's container, started before its working copy is written: `docker start`
 * (a few hundred milliseconds) then overlaps the fetch and checkout instead of
 * following them. Give it to `runAgentSession` (`earlySandbox`), which uses it as the
 * first agent container and disposes it in every case; a caller that never reaches
 * the session disposes it itself.
 *
 * Safe because nothing runs in it until the session's agent round: only `sleep` and
 * the exec server, which the host started. Whatever lands in the folder before that is
 * the host's (the checkout) or setup's (a snapshot, unpacked by the session), and the
 * session re-measures the disk bound's baseline before the agent's first command, so
 * none of it counts as the agent's growth.
 */
export interface EarlyAgentSandbox {
  /** The started container; rejects like `SandboxProvider.create`. */
  readonly sandbox: Promise<Sandbox>;
  /** Whether tool calls go through the exec server (false when it did not start). */
  readonly serverStarted: Promise<boolean>;
  /** Disposes the container once it exists (idempotent, never rejects). */
  dispose(): Promise<void>;
}

export function startAgentSandbox(
  deps: AgentSandboxDeps,
  input: {
    /** The (empty, or being written) folder the working copy is made in; it must exist. */
    workDir: string;
    repoConfig: { network: { agent: NetworkPolicy }; permissions?: unknown };
    labels: Record<string, string>;
  },
): EarlyAgentSandbox {
  return startAgentSandboxOn(deps, {
    workDir: input.workDir,
    network: agentNetworkOf(deps, input.repoConfig),
    labels: input.labels,
  });
}

/**
 * `startAgentSandbox` with the agent network already worked out (`agentNetworkOf`): the
 * pool of pre-started containers keys on it (worker/flows/agent-sandbox-pool.ts).
 */
export function startAgentSandboxOn(
  deps: AgentSandboxDeps,
  input: { workDir: string; network: NetworkPolicy; labels: Record<string, string> },
): EarlyAgentSandbox {
  const sandbox = deps.sandboxes.create(
    { image: deps.image, network: input.network, labels: input.labels },
    input.workDir,
  );
  // Handled here so an early start that fails is reported by the session, not as unhandled.
  sandbox.catch(() => undefined);
  const serverStarted = sandbox.then(
    (box) => startExecServer(deps, box),
    () => false,
  );
  let disposed: Promise<void> | undefined;
  return {
    sandbox,
    serverStarted,
    dispose() {
      disposed ??= sandbox.then(
        (box) => box.dispose().catch(() => undefined),
        () => undefined,
      );
      return disposed;
    },
  };
}
