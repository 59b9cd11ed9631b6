import type { Logger } from '../../src/logger.js';
import { buildContext } from '../agent/context/build-context.js';
import { type AgentResult, type Budgets, runAgent } from '../agent/loop/run-agent.js';
import { withMemoryTool } from '../agent/memory/memory-tool.js';
import type { AgentEvent, AgentTask, Tool } from '../agent/tool.js';
import { createDefaultTools } from '../agent/tools/index.js';
import type { Model } from '../model/model.js';
import type { Sandbox } from '../sandbox/sandbox.js';
import type { PhaseTimings } from './phase-timings.js';

/** One agent run inside a sandbox that is already started: context, tools, model and loop. */
export interface AgentRunInput {
  sandbox: Sandbox;
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
}

export interface AgentRunner {
  run(input: AgentRunInput): Promise<AgentResult>;
}

/**
 * Binds the harness: the context builder, the default tools and the loop over a
 * model. The model's key stays on the host (it is only scrubbed from what the
 * loop records); the sandbox the tools run in never sees it.
 */
export function createAgentRunner(options: {
  model: Model;
  secrets?: string[];
  tools?: Tool[];
}): AgentRunner {
  // The session memory tool is part of every run's tools (its notes outlive the run, per issue/PR).
  const tools = options.tools ?? withMemoryTool(createDefaultTools());
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
      return runAgent({
        model: options.model,
        sandbox: input.sandbox,
        tools,
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
    },
  };
}
