import type { Logger } from '../../../src/logger.js';
import type { Model } from '../../model/model.js';
import type { PriceTable } from '../../model/pricing.js';
import type { Sandbox } from '../../sandbox/sandbox.js';
import type { Budgets } from '../loop/budgets.js';
import { loadMcpOperatorConfig, type McpOperatorConfig, NO_MCP } from '../mcp/mcp-operator-config.js';
import { startMcpTools } from '../mcp/mcp-tools.js';
import { guardTools } from '../permissions/guard-tools.js';
import {
  describeToolPolicy,
  EMPTY_RULES,
  loadToolPolicyFile,
  type PermissionRules,
  resolveToolPolicy,
  type ToolPolicy,
} from '../permissions/tool-policy.js';
import { createDelegateTool, DEFAULT_SUBAGENT_BUDGETS } from '../subagents/delegate-tool.js';
import type { Tool } from '../tool.js';
import type { HarnessEventSink } from './harness-events.js';
import { createDefaultTools, type DefaultToolsOptions } from './index.js';

/** What the operator sets once for every run (loaded at boot from the environment). */
export interface AgentHarness {
  /** TOOL_POLICY_FILE: the operator's layer of the tool policy. */
  policy: PermissionRules;
  /** MCP_SERVERS_FILE: which MCP servers repositories may use, and the remote ones. */
  mcp: McpOperatorConfig;
  /** SUBAGENT_SHELL: subagents get a read-only shell. */
  subagentShell: boolean;
  /** Subagents on (default true). */
  subagents?: boolean;
  /** Overrides of a subagent's budget. */
  subagentBudgets?: Partial<Budgets>;
}

export const DEFAULT_HARNESS: AgentHarness = { policy: EMPTY_RULES, mcp: NO_MCP, subagentShell: false };

/** Reads TOOL_POLICY_FILE and MCP_SERVERS_FILE; an unreadable or invalid file is `config_invalid` (refuse to boot). */
export async function loadAgentHarness(config: {
  TOOL_POLICY_FILE?: string;
  MCP_SERVERS_FILE?: string;
  SUBAGENT_SHELL?: boolean;
}): Promise<AgentHarness> {
  return {
    policy: await loadToolPolicyFile(config.TOOL_POLICY_FILE),
    mcp: await loadMcpOperatorConfig(config.MCP_SERVERS_FILE),
    subagentShell: config.SUBAGENT_SHELL ?? false,
  };
}

export interface RunToolsInput {
  harness: AgentHarness;
  model: Model;
  sandbox: Sandbox;
  /** The repository's settings: `permissions` (narrows the operator's policy) and `mcp.servers`. */
  repo: { permissions?: unknown; mcp?: { servers?: unknown[] } };
  transcriptPath: string;
  secrets: string[];
  log: Logger;
  signal: AbortSignal;
  onEvent?: HarnessEventSink;
  prices?: PriceTable;
  defaults?: DefaultToolsOptions;
  /** The run's budgets: one subagent may spend at most a quarter of the run's cost and wall time. */
  limits?: Budgets;
}

/** A subagent's budget, never more than a quarter of the run's (several may run in one turn). */
function subagentBudgets(harness: AgentHarness, limits: Budgets | undefined): Partial<Budgets> {
  const own = { ...DEFAULT_SUBAGENT_BUDGETS, ...harness.subagentBudgets };
  if (!limits) return own;
  return {
    ...own,
    maxCostUsd: Math.min(own.maxCostUsd, limits.maxCostUsd / 4),
    maxWallMs: Math.min(own.maxWallMs, Math.max(10_000, limits.maxWallMs / 4)),
  };
}

export interface RunTools {
  /** The run's tools in a fixed order: the six default tools, delegate, then MCP tools by server and name. */
  tools: Tool[];
  policy: ToolPolicy;
  /** Stops the MCP servers. Call it in `finally`. */
  close(): Promise<void>;
}

/**
 * The tools of one run: the defaults, `delegate` and the repository's MCP tools, every one
 * wrapped by the run's tool policy (operator layer + repository layer). Emits the effective
 * policy first (`tool-policy`) so the run record shows it, then one `mcp-server` event per
 * server. The list is fixed for the run (the cached prompt prefix).
 */
export async function createRunTools(input: RunToolsInput): Promise<RunTools> {
  const { harness, log } = input;
  const emit: HarnessEventSink = (e) => {
    try {
      input.onEvent?.(e);
    } catch (err) {
      log.warn({ err }, 'Harness event handler failed');
    }
  };
  const policy = resolveToolPolicy(harness.policy, input.repo.permissions);
  emit({ type: 'tool-policy', policy: describeToolPolicy(policy), problems: policy.problems });
  const tools: Tool[] = [...createDefaultTools(input.defaults)];
  if (harness.subagents !== false)
    tools.push(
      createDelegateTool({
        model: input.model,
        policy,
        shell: harness.subagentShell,
        transcriptPath: input.transcriptPath,
        secrets: input.secrets,
        log,
        budgets: subagentBudgets(harness, input.limits),
        prices: input.prices,
        onEvent: emit,
      }) as Tool,
    );
  const mcp = await startMcpTools({
    operator: harness.mcp,
    requested: input.repo.mcp?.servers ?? [],
    sandbox: input.sandbox,
    policy,
    log,
    signal: input.signal,
    onEvent: emit,
  });
  tools.push(...mcp.tools);
  return { tools: guardTools(tools, policy, emit), policy, close: () => mcp.close() };
}
