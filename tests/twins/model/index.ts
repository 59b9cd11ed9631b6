/**
 * The model twin's public API: a local Anthropic Messages API for tests, the demo
 * and the token-efficiency benchmark. See README.md in this folder.
 */
export { writeHeavyTrajectoryRepo } from './fixtures/heavy-repo.js';
export { SAMPLE_BUGS, writeFixFailingTestRepo, writeLongTrajectoryRepo } from './fixtures/sample-repo.js';
export {
  CACHE_LOOKBACK_BLOCKS,
  MAX_CACHE_BREAKPOINTS,
  minCacheableTokensFor,
  TTL_MS,
} from './prompt-cache.js';
export { TEST_COMMAND } from './scenarios/fix-loop.js';
export {
  assistantTurns,
  finish,
  firstUserText,
  lastExchange,
  lastToolResults,
  planUpdate,
  reply,
  type TestOutcome,
  type ToolExchange,
  testOutcome,
  text,
  textOf,
  tool,
  toolExchanges,
} from './scenarios/helpers.js';
export { extractTaskTitle } from './scenarios/implement-issue.js';
export { scenarios } from './scenarios/index.js';
export { memoryClearingRepo } from './scenarios/memory-clearing.js';
export { withThinking } from './scenarios/thinking.js';
export { DEFAULT_TWIN_API_KEY, SCENARIO_HEADER, startModelTwin } from './server.js';
export { ADAPTIVE_ONLY, PRESERVED_THINKING } from './thinking.js';
export {
  CHARS_PER_TOKEN,
  estimateInputTokens,
  estimateOutputTokens,
  estimateTokens,
  MEDIA_TOKENS,
  MESSAGE_OVERHEAD_TOKENS,
  TOOL_OVERHEAD_TOKENS,
} from './tokens.js';
export type {
  CacheReport,
  CountTokensRequest,
  FaultRule,
  FaultRuleInput,
  MessagesRequest,
  ModelTwin,
  ModelTwinOptions,
  RecordedRequest,
  Scenario,
  ScenarioContext,
  ScriptedBlock,
  ScriptedReply,
  StopReason,
  TestCommand,
  Usage,
  UsageTotals,
} from './types.js';
export { ONE_PROCESS_TESTS } from './types.js';
