import type { Config } from '../../src/config/env.js';
import type { Logger } from '../../src/logger.js';
import { buildContext } from '../agent/context/build-context.js';
import { runAgent } from '../agent/loop/run-agent.js';
import { createDefaultTools } from '../agent/tools/index.js';
import { createAnthropicModel } from '../model/anthropic-model.js';
import type { AgentRunnerPort } from './ports.js';

/**
 * Binds the flows' AgentRunnerPort to the harness: the Anthropic model adapter,
 * the default tools, the context builder and the loop. The model key lives only
 * here, on the host; the sandbox the tools run in never sees it.
 */
export function createAgentRunner(config: Config, log: Logger): AgentRunnerPort {
  const model = createAnthropicModel({
    apiKey: config.ANTHROPIC_API_KEY ?? '',
    baseURL: config.ANTHROPIC_BASE_URL,
    model: config.PULLWRIGHT_MODEL,
    maxOutputTokens: config.MAX_OUTPUT_TOKENS,
    timeoutMs: config.MODEL_TIMEOUT_MS,
    log,
  });
  const tools = createDefaultTools();
  return {
    async run({ sandbox, task, verifyCommands, limits, signal, transcriptPath, onEvent, onMark }) {
      const context = await buildContext({ sandbox, task, repoConfig: { verify: verifyCommands } });
      onMark?.('context');
      return runAgent({
        model,
        sandbox,
        tools,
        system: context.system,
        firstUserMessage: context.firstUserMessage,
        budgets: limits,
        signal,
        log,
        transcriptPath,
        onEvent,
        secrets: config.ANTHROPIC_API_KEY ? [config.ANTHROPIC_API_KEY] : [],
      });
    },
  };
}
