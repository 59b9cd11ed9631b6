import type { Logger } from '../../src/logger.js';
import { buildContext } from '../agent/context/build-context.js';
import { type AgentResult, type Budgets, runAgent } from '../agent/loop/run-agent.js';
import { withMemoryTool } from '../agent/memory/memory-tool.js';
import { runSelfReview, type SelfReview, type SelfReviewInput } from '../agent/review/run-self-review.js';
import type { AgentEvent, AgentTask, Tool } from '../agent/tool.js';
import { type AgentHarness, createRunTools, DEFAULT_HARNESS } from '../agent/tools/create-run-tools.js';
import type { Model } from '../model/model.js';
import type { Sandbox } from '../sandbox/sandbox.js';
import type { PhaseTimings } from './phase-timings.js';

/** One agent run inside a sandbox that is already started: context, tools, model and loop. */
export interface AgentRunInput {
  sandbox: Sandbox;
  /** Carries the session memory of earlier runs on the issue/PR (`task.memory`) when the flow loaded it. */
  task: AgentTask;
  repoConfig: { verifyCommands: string[]; setupCommand: string | null };
  limits: Budgets;
  signal: AbortSignal;
  log: Logger;
  transcriptPath: string;
  onEvent?: (event: AgentEvent) => void;
  /** Decides `no-changes` for a run that finished (the session sees the workspace diff). */
  hasChanges?: () => Promise<boolean>;
  /** Receives `context` once the context is built, just before the first model request. */
  timings?: PhaseTimings;
  /** The repository's `permissions` (narrows the operator's tool policy) and `mcp` settings. */
  permissions?: unknown;
  mcp?: { servers?: unknown[] };
}

export interface AgentRunner {
  run(input: AgentRunInput): Promise<AgentResult>;
  /** The reviewer before delivery (worker/agent/review): the task, the diff and the verification only. */
  review?(input: SelfReviewInput): Promise<SelfReview>;
}

/**
 * Binds the harness: the context builder, the run's tools (the defaults, the session
 * memory, subagents and the repository's MCP tools under the tool policy) and the loop
 * over a model. The model's key stays on the host (it is only scrubbed from what the
 * loop records); the sandbox the tools run in never sees it, nor the stored memory,
 * which reaches the agent only through the context and its memory tool.
 */
export function createAgentRunner(options: {
  model: Model;
  secrets?: string[];
  /** A fixed tool list (tests); otherwise the tools are built per run. */
  tools?: Tool[];
  harness?: AgentHarness;
}): AgentRunner {
  return {
    async run(input) {
      const context = await buildContext({
        sandbox: input.sandbox,
        task: input.task,
        repoConfig: {
          verify: input.repoConfig.verifyCommands,
          setup: input.repoConfig.setupCommand ?? undefined,
        },
        signal: input.signal,
      });
      input.timings?.end('context');
      const runTools = options.tools
        ? null
        : await createRunTools({
            harness: options.harness ?? DEFAULT_HARNESS,
            model: options.model,
            sandbox: input.sandbox,
            repo: { permissions: input.permissions, mcp: input.mcp },
            transcriptPath: input.transcriptPath,
            secrets: options.secrets ?? [],
            log: input.log,
            signal: input.signal,
            onEvent: input.onEvent,
            limits: input.limits,
          });
      try {
        return await runAgent({
          model: options.model,
          sandbox: input.sandbox,
          // The session memory tool is part of every run (a no-op when the list has it already).
          tools: withMemoryTool(options.tools ?? (runTools as NonNullable<typeof runTools>).tools),
          system: context.system,
          firstUserMessage: context.firstUserMessage,
          task: input.task,
          budgets: input.limits,
          signal: input.signal,
          log: input.log,
          transcriptPath: input.transcriptPath,
          onEvent: input.onEvent,
          secrets: options.secrets ?? [],
          hasChanges: input.hasChanges,
        });
      } finally {
        await runTools?.close();
      }
    },
    review: (input) => runSelfReview({ model: options.model, secrets: options.secrets }, input),
  };
}
