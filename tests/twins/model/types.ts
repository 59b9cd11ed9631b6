import { z } from 'zod';

/**
 * Request shapes the model twin accepts, modelled on the Anthropic Messages API.
 * Objects are loose (unknown fields are kept) because the SDK and the harness may
 * echo response fields back (`citations: null`, `caller`), and the cache key is the
 * exact content the client sent.
 */

export const CacheControl = z.strictObject({
  type: z.literal('ephemeral'),
  ttl: z.enum(['5m', '1h']).optional(),
});
export type CacheControl = z.infer<typeof CacheControl>;

const cacheControl = CacheControl.nullish();

export const TextBlockParam = z.looseObject({
  type: z.literal('text'),
  text: z.string(),
  cache_control: cacheControl,
});
export type TextBlockParam = z.infer<typeof TextBlockParam>;

export const ImageBlockParam = z.looseObject({
  type: z.literal('image'),
  source: z.looseObject({ type: z.string() }),
  cache_control: cacheControl,
});
export type ImageBlockParam = z.infer<typeof ImageBlockParam>;

export const DocumentBlockParam = z.looseObject({
  type: z.literal('document'),
  source: z.looseObject({ type: z.string() }),
  cache_control: cacheControl,
});

export const ToolUseBlockParam = z.looseObject({
  type: z.literal('tool_use'),
  id: z.string().min(1),
  name: z.string().min(1),
  input: z.record(z.string(), z.unknown()),
  cache_control: cacheControl,
});
export type ToolUseBlockParam = z.infer<typeof ToolUseBlockParam>;

export const ToolResultBlockParam = z.looseObject({
  type: z.literal('tool_result'),
  tool_use_id: z.string().min(1),
  content: z
    .union([z.string(), z.array(z.union([TextBlockParam, ImageBlockParam, DocumentBlockParam]))])
    .optional(),
  is_error: z.boolean().optional(),
  cache_control: cacheControl,
});
export type ToolResultBlockParam = z.infer<typeof ToolResultBlockParam>;

export const ThinkingBlockParam = z.looseObject({
  type: z.literal('thinking'),
  thinking: z.string(),
  signature: z.string(),
  cache_control: cacheControl,
});

export const RedactedThinkingBlockParam = z.looseObject({
  type: z.literal('redacted_thinking'),
  data: z.string(),
  cache_control: cacheControl,
});

export const ContentBlockParam = z.discriminatedUnion('type', [
  TextBlockParam,
  ImageBlockParam,
  DocumentBlockParam,
  ToolUseBlockParam,
  ToolResultBlockParam,
  ThinkingBlockParam,
  RedactedThinkingBlockParam,
]);
export type ContentBlockParam = z.infer<typeof ContentBlockParam>;

/** `system` messages (mid-conversation instructions, SDK 1.x) hold text only; they do not break role alternation. */
export const MessageParam = z.looseObject({
  role: z.enum(['user', 'assistant', 'system']),
  content: z.union([z.string(), z.array(ContentBlockParam)]),
});
export type MessageParam = z.infer<typeof MessageParam>;

/** A client tool described by a JSON Schema (what the harness sends). */
export const CustomTool = z.looseObject({
  type: z.literal('custom').nullish(),
  name: z.string().regex(/^[a-zA-Z0-9_-]{1,128}$/),
  description: z.string().optional(),
  input_schema: z.looseObject({ type: z.literal('object') }),
  cache_control: cacheControl,
});
/** An Anthropic-defined tool (`text_editor_20250728`, `bash_20250124`, …): no input_schema. */
export const BuiltinTool = z.looseObject({
  type: z.string().regex(/^[a-z_]+_\d{8}$/),
  name: z.string().min(1),
  cache_control: cacheControl,
});
export const ToolDefinition = z.union([CustomTool, BuiltinTool]);
export type ToolDefinition = z.infer<typeof ToolDefinition>;

export const SystemParam = z.union([z.string(), z.array(TextBlockParam)]);
export type SystemParam = z.infer<typeof SystemParam>;

const countTokensShape = {
  model: z.string().min(1),
  messages: z.array(MessageParam).min(1),
  system: SystemParam.optional(),
  tools: z.array(ToolDefinition).optional(),
  tool_choice: z
    .looseObject({
      type: z.enum(['auto', 'any', 'tool', 'none']),
      name: z.string().optional(),
      disable_parallel_tool_use: z.boolean().optional(),
    })
    .optional(),
};

/** The largest max_tokens the twin accepts (the real limit depends on the model). */
export const MAX_OUTPUT_TOKENS = 128_000;

export const CountTokensRequest = z.looseObject(countTokensShape);
export type CountTokensRequest = z.infer<typeof CountTokensRequest>;

export const MessagesRequest = z.looseObject({
  ...countTokensShape,
  max_tokens: z.number().int().min(1).max(MAX_OUTPUT_TOKENS),
  stream: z.boolean().optional(),
  stop_sequences: z.array(z.string()).optional(),
  temperature: z.number().min(0).max(1).optional(),
  metadata: z.looseObject({ user_id: z.string().nullish() }).optional(),
});
export type MessagesRequest = z.infer<typeof MessagesRequest>;

/** What a scenario answers: the twin turns it into a Message (ids, usage, stop reason). */
export type ScriptedBlock =
  | { type: 'text'; text: string }
  | { type: 'tool_use'; name: string; input: Record<string, unknown> }
  /** Signed by the twin; dropped when the request turns thinking off; text emptied with `display: omitted`. */
  | { type: 'thinking'; thinking: string }
  | { type: 'redacted_thinking' };

export type StopReason = 'end_turn' | 'tool_use' | 'max_tokens' | 'stop_sequence';

export interface ScriptedReply {
  content: ScriptedBlock[];
  /**
   * Only `max_tokens` and `stop_sequence` are taken as given; otherwise the twin says
   * `tool_use` when the returned content holds a tool_use block, else `end_turn`.
   */
  stopReason?: StopReason;
  /** Defaults to the token estimate of the content. */
  outputTokens?: number;
}

export interface ScenarioContext {
  /** 1 for the first request of a conversation: the number of assistant messages in the request, plus one. */
  turn: number;
  /**
   * Scratch state for this conversation (keyed by scenario, model and the first user
   * message), kept across requests until `twin.reset()`. The shipped scenarios are
   * pure functions of the request and do not need it.
   */
  state: Record<string, unknown>;
  /** The conversation key the state belongs to. */
  conversationId: string;
  /** How the coding scenarios run the sample repo's tests (`ModelTwinOptions.testCommand`); default `npm test`. */
  testCommand?: TestCommand;
}

/**
 * The fixture's test files required into one node process: the same tests and the same TAP report
 * (tests, pass/fail counts, exit code 1 on a failure) as `node --test`, which on Node 20 starts one
 * node for the runner and one more per test file (what `--experimental-test-isolation=none` avoids on
 * Node 22). Each node start-up costs 0.1-0.2 CPU-s on the test VM, and the suite runs the fixtures'
 * tests about forty times.
 */
export const ONE_PROCESS_TESTS =
  `node -e "for (const f of require('fs').readdirSync('test').filter((f) => f.endsWith('.test.js')).sort()) require('./test/' + f)"` as const;

/**
 * The commands a coding scenario may run the sample repo's tests with: `npm test`, as a model
 * reading its README would; `node --test`, the script `npm test` runs, without npm's own
 * start-up (about 0.35 CPU-s a run); or the same test files in one node process (ONE_PROCESS_TESTS).
 */
export type TestCommand = 'npm test' | 'node --test' | typeof ONE_PROCESS_TESTS;

export interface Scenario {
  name: string;
  description: string;
  respond(request: MessagesRequest, ctx: ScenarioContext): ScriptedReply | Promise<ScriptedReply>;
}

/** Fault injection rule: the next `times` matching requests get this treatment. */
export const FaultRule = z.strictObject({
  /** Which endpoint the rule applies to; default both. */
  path: z.enum(['/v1/messages', '/v1/messages/count_tokens']).optional(),
  /** Answer with this error status instead of a result (529 overloaded, 500 api_error, 429 rate_limit_error, …). */
  status: z
    .union([z.literal(400), z.literal(408), z.literal(429), z.literal(500), z.literal(503), z.literal(529)])
    .optional(),
  /** How many requests the rule applies to (default 1). */
  times: z.number().int().min(1).default(1),
  /** Sent as `retry-after` (seconds) with an error status. */
  retryAfterSeconds: z.number().min(0).optional(),
  /** Wait this long before sending headers. */
  delayMs: z.number().int().min(0).optional(),
  /** Wait this long between stream events (streaming requests only). */
  eventDelayMs: z.number().int().min(0).optional(),
  /** Destroy the socket after writing this many SSE events (streaming requests only). */
  cutStreamAfterEvents: z.number().int().min(0).optional(),
  /** Send an `event: error` (overloaded_error) after this many SSE events and end the stream, as the real API does when it overloads mid-stream. */
  errorEventAfterEvents: z.number().int().min(0).optional(),
});
export type FaultRule = z.infer<typeof FaultRule>;
export type FaultRuleInput = z.input<typeof FaultRule>;

export interface Usage {
  input_tokens: number;
  /** Includes thinking (what is billed), whatever the thinking display. */
  output_tokens: number;
  /** The part of output_tokens spent thinking, when the reply thought. */
  output_tokens_details?: { thinking_tokens: number };
  cache_creation_input_tokens: number;
  cache_read_input_tokens: number;
  cache_creation: { ephemeral_5m_input_tokens: number; ephemeral_1h_input_tokens: number };
}

/** Per-server running totals over successful `/v1/messages` responses (including streams later cut). */
export interface UsageTotals {
  requests: number;
  inputTokens: number;
  outputTokens: number;
  cacheCreationInputTokens: number;
  cacheReadInputTokens: number;
  cacheCreation5mInputTokens: number;
  cacheCreation1hInputTokens: number;
}

/** How the twin's prompt cache treated one request. */
export interface CacheReport {
  /** Positions (in the tools → system → messages block sequence) carrying cache_control. */
  breakpoints: { position: number; ttl: '5m' | '1h'; prefixTokens: number }[];
  /** Position of the longest prefix read from cache, or -1. */
  hitPosition: number;
  /** Entries written by this request. */
  writes: { position: number; ttl: '5m' | '1h'; prefixTokens: number }[];
  totalInputTokens: number;
}

export interface RecordedRequest {
  id: string;
  at: number;
  method: string;
  path: string;
  scenario?: string;
  turn?: number;
  stream: boolean;
  status: number;
  /** The parsed body (for tests asserting what the harness sent, e.g. that no secret reached the model). */
  body?: unknown;
  headers: Record<string, string>;
  usage?: Usage;
  cache?: CacheReport;
  /** The assistant content returned. */
  response?: unknown[];
  error?: { type: string; message: string };
  fault?: FaultRule;
  /** The stream was destroyed (or ended with an error event) mid-way by a fault rule. */
  cut?: boolean;
}

export interface ModelTwinOptions {
  /** 0 (default) picks a free port. */
  port?: number;
  host?: string;
  /** Default scenario for requests without an `x-twin-scenario` header (default `echo`). */
  scenario?: string | Scenario;
  /** The key clients must send (x-api-key or Authorization: Bearer). Default `sk-ant-twin-local-key`. */
  apiKey?: string;
  /** Clock for cache TTLs (ms since epoch). Default `Date.now`. */
  now?: () => number;
  /** Overrides the per-model minimum cacheable prefix (1024, or 2048 for haiku models). */
  minCacheableTokens?: number;
  /** Keep only the newest N entries in `requests` (a long-running standalone twin); default unbounded. */
  maxRecordedRequests?: number;
  /** Called once per API request when its response ends (or its connection drops). */
  onRequest?: (request: RecordedRequest) => void;
  /**
   * The command the coding scenarios run the sample repo's tests with (default `npm test`).
   * Service-free unit tests pass ONE_PROCESS_TESTS: the same tests of the fixture, in one node process.
   */
  testCommand?: TestCommand;
}

export interface ModelTwin {
  /** Base URL to give the SDK (`baseURL`), e.g. `http://127.0.0.1:3200`. */
  url: string;
  apiKey: string;
  /** Sets the default scenario; a Scenario object is also registered in `scenarios`. */
  setScenario(scenario: string | Scenario): void;
  /** Scenarios selectable by name (mutable: tests may register their own). */
  scenarios: Record<string, Scenario>;
  /** Live totals (the same object is updated in place; `reset()` zeroes it). */
  usage: UsageTotals;
  /** Every request received, in order. */
  requests: RecordedRequest[];
  faults: { add(rule: FaultRuleInput): void; clear(): void; pending(): FaultRule[] };
  /** Clears usage, requests, the prompt cache, faults and scenario state; keeps the default scenario. */
  reset(): void;
  close(): Promise<void>;
}
