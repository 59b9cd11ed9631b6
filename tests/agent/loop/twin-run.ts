import { join } from 'node:path';
import { createSilentLogger } from '../../../src/logger.js';
import type { RunAgentOptions } from '../../../worker/agent/loop/run-agent.js';
import { createDefaultTools } from '../../../worker/agent/tools/index.js';
import { type AnthropicModelOptions, createAnthropicModel } from '../../../worker/model/anthropic-model.js';
import { type ModelTwin, SCENARIO_HEADER } from '../../twins/model/index.js';
import { createLocalSandbox } from './local-sandbox.js';

/** Options for a run of the real loop, SDK and tools against the model twin, in `dir`, on `scenario`. */
export function twinRunOptions(
  twin: ModelTwin,
  dir: string,
  scenario: string,
  model: Partial<AnthropicModelOptions> = {},
  overrides: Partial<RunAgentOptions> = {},
): RunAgentOptions {
  return {
    model: createAnthropicModel({
      apiKey: twin.apiKey,
      baseURL: twin.url,
      model: 'claude-sonnet-5-5',
      maxOutputTokens: 4096,
      timeoutMs: 20_000,
      retry: { baseDelayMs: 10, maxDelayMs: 50 },
      defaultHeaders: { [SCENARIO_HEADER]: scenario },
      ...model,
    }),
    sandbox: createLocalSandbox(dir),
    tools: createDefaultTools(),
    system: 'You are a coding agent working in a repository. Call finish when done.',
    firstUserMessage: 'Fix the failing tests of this repository.',
    budgets: { maxTurns: 40, maxCostUsd: 5, maxWallMs: 120_000 },
    signal: new AbortController().signal,
    log: createSilentLogger(),
    transcriptPath: join(dir, '.transcript', 'run.jsonl'),
    secrets: [twin.apiKey],
    ...overrides,
  };
}
