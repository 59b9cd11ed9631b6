import { createHash, randomBytes } from 'node:crypto';
import { createServer, type IncomingMessage, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import { setTimeout as sleep } from 'node:timers/promises';
import type { z } from 'zod';
import { CacheRuleError, checkBreakpoints, minCacheableTokensFor, PromptCache } from './prompt-cache.js';
import { TEST_COMMAND } from './scenarios/fix-loop.js';
import { scenarios as shippedScenarios } from './scenarios/index.js';
import {
  blockKey,
  type PrefixChain,
  type ThinkingConfig,
  ThinkingLedger,
  ThinkingRuleError,
  thinkingConfig,
} from './thinking.js';
import {
  canonicalJson,
  estimateInputTokens,
  estimateOutputTokens,
  estimateTokens,
  promptBlocks,
} from './tokens.js';
import {
  CountTokensRequest,
  FaultRule,
  type FaultRuleInput,
  type MessageParam,
  MessagesRequest,
  type ModelTwin,
  type ModelTwinOptions,
  type RecordedRequest,
  type Scenario,
  type ScriptedReply,
  type StopReason,
  type Usage,
  type UsageTotals,
} from './types.js';

export const DEFAULT_TWIN_API_KEY = 'sk-ant-twin-local-key';
export const SCENARIO_HEADER = 'x-twin-scenario';
const MAX_BODY_BYTES = 32 * 1024 * 1024;

const ERROR_TYPES: Record<number, string> = {
  400: 'invalid_request_error',
  401: 'authentication_error',
  403: 'permission_error',
  404: 'not_found_error',
  405: 'invalid_request_error',
  408: 'timeout_error',
  413: 'request_too_large',
  429: 'rate_limit_error',
  500: 'api_error',
  503: 'api_error',
  529: 'overloaded_error',
};

const ERROR_MESSAGES: Record<number, string> = {
  408: 'Request timed out.',
  429: 'Number of request tokens has exceeded your per-minute rate limit.',
  500: 'Internal server error.',
  503: 'Service unavailable.',
  529: 'Overloaded',
};

class HttpError extends Error {
  constructor(
    readonly status: number,
    message: string,
  ) {
    super(message);
  }
}

function newId(prefix: string): string {
  return `${prefix}_twin_${randomBytes(9).toString('base64url')}`;
}

interface IssueLike {
  code: string;
  path: PropertyKey[];
  message: string;
  errors?: IssueLike[][];
}

/**
 * For a union (string or blocks, custom or builtin tool), the branch that got
 * furthest into the value names the real problem; report that one with its full path.
 */
function specificIssue(
  issue: IssueLike,
  prefix: PropertyKey[] = [],
): { path: PropertyKey[]; message: string } {
  const path = [...prefix, ...issue.path];
  if (issue.code !== 'invalid_union' || !issue.errors || issue.errors.length === 0)
    return { path, message: issue.message };
  const deepest = issue.errors
    .flat()
    .map((inner) => specificIssue(inner, path))
    .sort((a, b) => b.path.length - a.path.length)[0];
  return deepest ?? { path, message: issue.message };
}

function zodMessage(error: z.ZodError): string {
  return error.issues
    .slice(0, 5)
    .map((issue) => specificIssue(issue as unknown as IssueLike))
    .map(({ path, message }) => `${path.length > 0 ? path.map(String).join('.') : 'body'}: ${message}`)
    .join('; ');
}

/** Checks the conversation rules the real API enforces beyond the body's shape. */
function checkConversation(messages: MessageParam[], tools: { name: string }[] | undefined): void {
  const names = new Set<string>();
  for (const tool of tools ?? []) {
    if (names.has(tool.name))
      throw new HttpError(400, `tools: Tool names must be unique. Duplicate: ${tool.name}`);
    names.add(tool.name);
  }
  messages.forEach((message, i) => {
    if (
      message.role === 'system' &&
      typeof message.content !== 'string' &&
      message.content.some((b) => b.type !== 'text')
    ) {
      throw new HttpError(400, `messages.${i}: system messages may only contain text blocks`);
    }
  });
  // Role rules apply to the user/assistant conversation; error paths keep the original indices.
  const indices = messages.flatMap((m, i) => (m.role === 'system' ? [] : [i]));
  const convo = indices.map((i) => messages[i]!);
  if (convo[0]?.role !== 'user') throw new HttpError(400, 'messages: first message must use the "user" role');
  const seenToolUse = new Set<string>();
  convo.forEach((message, k) => {
    const i = indices[k]!;
    const messagesBefore = convo[k - 1];
    if (messagesBefore && messagesBefore.role === message.role) {
      throw new HttpError(
        400,
        `messages: roles must alternate between "user" and "assistant", but found multiple "${message.role}" roles in a row`,
      );
    }
    const blocks = typeof message.content === 'string' ? null : message.content;
    const isFinalAssistant = k === convo.length - 1 && message.role === 'assistant';
    if (
      (typeof message.content === 'string' ? message.content.length === 0 : message.content.length === 0) &&
      !isFinalAssistant
    ) {
      throw new HttpError(
        400,
        `messages.${i}: all messages must have non-empty content except for the optional final assistant message`,
      );
    }
    if (!blocks) return;
    blocks.forEach((block, j) => {
      if (block.type === 'text' && block.text.length === 0) {
        throw new HttpError(400, `messages.${i}.content.${j}.text: text content blocks must be non-empty`);
      }
      if (block.type === 'tool_use') {
        if (message.role !== 'assistant')
          throw new HttpError(
            400,
            `messages.${i}.content.${j}: tool_use blocks may only appear in assistant messages`,
          );
        if (seenToolUse.has(block.id))
          throw new HttpError(400, `messages.${i}.content.${j}: tool_use ids must be unique: ${block.id}`);
        seenToolUse.add(block.id);
      }
      if (block.type === 'tool_result' && message.role !== 'user') {
        throw new HttpError(
          400,
          `messages.${i}.content.${j}: tool_result blocks may only appear in user messages`,
        );
      }
    });
    // Every tool_result must answer a tool_use of the message just before it.
    if (message.role === 'user') {
      const previous = messagesBefore;
      const offered = new Set(
        previous && typeof previous.content !== 'string'
          ? previous.content.flatMap((b) => (b.type === 'tool_use' ? [b.id] : []))
          : [],
      );
      const lastResult = blocks.findLastIndex((b) => b.type === 'tool_result');
      blocks.forEach((block, j) => {
        if (block.type !== 'tool_result' && j < lastResult) {
          throw new HttpError(
            400,
            `messages.${i}.content.${j}: \`tool_result\` blocks must come first in a user message that answers \`tool_use\` blocks; put other content after them.`,
          );
        }
        if (block.type === 'tool_result' && !offered.has(block.tool_use_id)) {
          throw new HttpError(
            400,
            `messages.${i}.content.${j}: unexpected \`tool_use_id\` found in \`tool_result\` blocks: ${block.tool_use_id}. Each \`tool_result\` block must have a corresponding \`tool_use\` block in the previous message.`,
          );
        }
      });
    }
    // Every tool_use must be answered by a tool_result in the next message.
    if (message.role === 'assistant' && k + 1 < convo.length) {
      const next = convo[k + 1]!;
      const answered = new Set(
        typeof next.content === 'string'
          ? []
          : next.content.flatMap((b) => (b.type === 'tool_result' ? [b.tool_use_id] : [])),
      );
      const missing = blocks.flatMap((b) => (b.type === 'tool_use' && !answered.has(b.id) ? [b.id] : []));
      if (missing.length > 0) {
        throw new HttpError(
          400,
          `messages.${indices[k + 1]}: \`tool_use\` ids were found without \`tool_result\` blocks immediately after: ${missing.join(', ')}. Each \`tool_use\` block must have a corresponding \`tool_result\` block in the next message.`,
        );
      }
    }
  });
}

interface BuiltMessage {
  message: {
    id: string;
    type: 'message';
    role: 'assistant';
    model: string;
    content: (
      | { type: 'text'; text: string; citations: null }
      | {
          type: 'tool_use';
          id: string;
          name: string;
          input: Record<string, unknown>;
          caller: { type: 'direct' };
        }
      | { type: 'thinking'; thinking: string; signature: string }
      | { type: 'redacted_thinking'; data: string }
    )[];
    stop_reason: StopReason;
    stop_sequence: string | null;
    stop_details: null;
    container: null;
    usage: Usage & { service_tier: 'standard' };
  };
}

interface ThinkingContext {
  config: ThinkingConfig;
  ledger: ThinkingLedger;
  /** The prompt's prefix chain after the request's messages; extended by each block of the reply. */
  chain: PrefixChain;
}

/** Tokens a redacted_thinking block stands for (its reasoning is hidden, its cost is not). */
const REDACTED_THINKING_TOKENS = 64;

/** Turns a scenario's reply into a Message, honouring max_tokens and stop_sequences like the model would. */
function buildMessage(
  request: MessagesRequest,
  scripted: ScriptedReply,
  scenarioName: string,
  thinking: ThinkingContext,
): BuiltMessage {
  const offered = new Set((request.tools ?? []).map((t) => t.name));
  const content: BuiltMessage['message']['content'] = [];
  let stopReason: StopReason | undefined = scripted.stopReason;
  let stopSequence: string | null = null;
  let budget = request.max_tokens;
  let thinkingTokens = 0;
  const index = request.messages.length;
  const messagePrefix = thinking.chain.current;
  // Each block becomes part of the prefix of the blocks after it, as the client will send it back.
  const emit = (block: BuiltMessage['message']['content'][number]) => {
    content.push(block);
    const { citations: _c, caller: _k, ...sent } = block as Record<string, unknown>;
    thinking.chain.add(index, 'assistant', blockKey(sent as never));
  };
  // tool_choice constrains what the model may emit: none → no tool calls; a single
  // call when parallel use is disabled (the scenario sees the rest was never made).
  const noTools = request.tool_choice?.type === 'none';
  const oneTool = request.tool_choice?.disable_parallel_tool_use === true;
  for (const block of scripted.content) {
    if (block.type === 'thinking' || block.type === 'redacted_thinking') {
      if (!thinking.config.active) continue;
      const cost = block.type === 'thinking' ? estimateTokens(block.thinking) : REDACTED_THINKING_TOKENS;
      thinkingTokens += Math.min(cost, budget);
      budget -= Math.min(cost, budget);
      const prefix = thinking.chain.current;
      if (block.type === 'thinking') {
        const shown = thinking.config.omitted ? '' : block.thinking;
        emit({ type: 'thinking', thinking: shown, signature: thinking.ledger.sign(prefix, shown) });
      } else emit({ type: 'redacted_thinking', data: thinking.ledger.redactedData(prefix) });
      if (budget <= 0) {
        stopReason = 'max_tokens';
        break;
      }
      continue;
    }
    if (block.type === 'tool_use' && (noTools || (oneTool && content.some((b) => b.type === 'tool_use'))))
      continue;
    if (block.type === 'tool_use') {
      if (!offered.has(block.name)) {
        throw new HttpError(
          400,
          `twin: scenario "${scenarioName}" called tool "${block.name}", which the request does not offer (tools: ${[...offered].join(', ') || 'none'})`,
        );
      }
      const cost = estimateOutputTokens([block]);
      if (cost > budget) {
        stopReason = 'max_tokens';
        break;
      }
      budget -= cost;
      emit({
        type: 'tool_use',
        id: newId('toolu'),
        name: block.name,
        input: block.input,
        caller: { type: 'direct' },
      });
      continue;
    }
    let value = block.text;
    for (const seq of request.stop_sequences ?? []) {
      const at = seq.length > 0 ? value.indexOf(seq) : -1;
      if (at >= 0) {
        value = value.slice(0, at);
        stopReason = 'stop_sequence';
        stopSequence = seq;
      }
    }
    if (estimateTokens(value) > budget) {
      value = value.slice(0, budget * 4);
      stopReason = 'max_tokens';
    }
    budget -= estimateTokens(value);
    if (value.length > 0) emit({ type: 'text', text: value, citations: null });
    if (stopReason === 'max_tokens' || stopReason === 'stop_sequence') break;
  }
  const toolUseIds = content.flatMap((b) => (b.type === 'tool_use' ? [b.id] : []));
  const hasToolUse = toolUseIds.length > 0;
  const thinkingBlocks = content.filter(
    (b) => b.type === 'thinking' || b.type === 'redacted_thinking',
  ).length;
  thinking.ledger.remember(toolUseIds, messagePrefix, thinkingBlocks);
  // The API never says tool_use without a tool_use block, nor end_turn with one.
  const finalStop: StopReason =
    stopReason === 'max_tokens' || stopReason === 'stop_sequence'
      ? stopReason
      : hasToolUse
        ? 'tool_use'
        : 'end_turn';
  const visible = content.filter(
    (b): b is Extract<(typeof content)[number], { type: 'text' | 'tool_use' }> =>
      b.type === 'text' || b.type === 'tool_use',
  );
  // Thinking is billed as output whether or not its text is shown.
  const outputTokens = Math.min(
    request.max_tokens,
    (scripted.outputTokens ??
      (visible.length > 0 || thinkingTokens === 0
        ? estimateOutputTokens(visible.length > 0 ? visible : [{ type: 'text', text: '' }])
        : 0)) + thinkingTokens,
  );
  return {
    message: {
      id: newId('msg'),
      type: 'message',
      role: 'assistant',
      model: request.model,
      content,
      stop_reason: finalStop,
      stop_sequence: stopSequence,
      stop_details: null,
      container: null,
      // Input usage is filled in once the prompt cache has been applied.
      usage: {
        input_tokens: 0,
        output_tokens: outputTokens,
        cache_creation_input_tokens: 0,
        cache_read_input_tokens: 0,
        cache_creation: { ephemeral_5m_input_tokens: 0, ephemeral_1h_input_tokens: 0 },
        ...(thinkingTokens > 0
          ? { output_tokens_details: { thinking_tokens: Math.min(thinkingTokens, outputTokens) } }
          : {}),
        service_tier: 'standard',
      },
    },
  };
}

interface SseEvent {
  event: string;
  data: unknown;
}

function chunk(value: string, size: number): string[] {
  const out: string[] = [];
  for (let i = 0; i < value.length; i += size) out.push(value.slice(i, i + size));
  return out;
}

/** The event sequence the real API streams for a message. */
function streamEvents({ message }: BuiltMessage): SseEvent[] {
  const { usage } = message;
  const inputUsage = {
    input_tokens: usage.input_tokens,
    cache_creation_input_tokens: usage.cache_creation_input_tokens,
    cache_read_input_tokens: usage.cache_read_input_tokens,
  };
  const events: SseEvent[] = [
    {
      event: 'message_start',
      data: {
        type: 'message_start',
        message: {
          ...message,
          content: [],
          stop_reason: null,
          stop_sequence: null,
          usage: {
            ...inputUsage,
            output_tokens: Math.min(1, usage.output_tokens),
            cache_creation: usage.cache_creation,
            service_tier: usage.service_tier,
          },
        },
      },
    },
    { event: 'ping', data: { type: 'ping' } },
  ];
  message.content.forEach((block, index) => {
    if (block.type === 'text') {
      events.push({
        event: 'content_block_start',
        data: {
          type: 'content_block_start',
          index,
          content_block: { type: 'text', text: '', citations: null },
        },
      });
      for (const piece of chunk(block.text, 24)) {
        events.push({
          event: 'content_block_delta',
          data: { type: 'content_block_delta', index, delta: { type: 'text_delta', text: piece } },
        });
      }
    } else if (block.type === 'thinking') {
      events.push({
        event: 'content_block_start',
        data: {
          type: 'content_block_start',
          index,
          content_block: { type: 'thinking', thinking: '', signature: '' },
        },
      });
      for (const piece of chunk(block.thinking, 24)) {
        events.push({
          event: 'content_block_delta',
          data: { type: 'content_block_delta', index, delta: { type: 'thinking_delta', thinking: piece } },
        });
      }
      // The signature arrives last, just before the block stops, as on the real API.
      events.push({
        event: 'content_block_delta',
        data: {
          type: 'content_block_delta',
          index,
          delta: { type: 'signature_delta', signature: block.signature },
        },
      });
    } else if (block.type === 'redacted_thinking') {
      events.push({
        event: 'content_block_start',
        data: { type: 'content_block_start', index, content_block: block },
      });
    } else {
      events.push({
        event: 'content_block_start',
        data: { type: 'content_block_start', index, content_block: { ...block, input: {} } },
      });
      const json = JSON.stringify(block.input);
      // Several partial chunks, split anywhere (mid-key, mid-string), as the real API does.
      const pieces = [''].concat(chunk(json, Math.max(1, Math.min(40, Math.ceil(json.length / 3)))));
      for (const piece of pieces) {
        events.push({
          event: 'content_block_delta',
          data: {
            type: 'content_block_delta',
            index,
            delta: { type: 'input_json_delta', partial_json: piece },
          },
        });
      }
    }
    events.push({ event: 'content_block_stop', data: { type: 'content_block_stop', index } });
  });
  events.push({
    event: 'message_delta',
    data: {
      type: 'message_delta',
      delta: {
        stop_reason: message.stop_reason,
        stop_sequence: message.stop_sequence,
        stop_details: null,
        container: null,
      },
      usage: {
        ...inputUsage,
        output_tokens: usage.output_tokens,
        ...(usage.output_tokens_details ? { output_tokens_details: usage.output_tokens_details } : {}),
      },
    },
  });
  events.push({ event: 'message_stop', data: { type: 'message_stop' } });
  return events;
}

function zeroTotals(): UsageTotals {
  return {
    requests: 0,
    inputTokens: 0,
    outputTokens: 0,
    cacheCreationInputTokens: 0,
    cacheReadInputTokens: 0,
    cacheCreation5mInputTokens: 0,
    cacheCreation1hInputTokens: 0,
  };
}

function safeHeaders(req: IncomingMessage): Record<string, string> {
  const out: Record<string, string> = {};
  for (const [name, value] of Object.entries(req.headers)) {
    if (value === undefined) continue;
    // The recorded log is read by tests and may be printed: never keep credentials in it.
    out[name] =
      name === 'authorization' || name === 'x-api-key'
        ? '[REDACTED]'
        : Array.isArray(value)
          ? value.join(', ')
          : value;
  }
  return out;
}

async function readBody(req: IncomingMessage): Promise<string> {
  const chunks: Buffer[] = [];
  let size = 0;
  for await (const piece of req) {
    size += (piece as Buffer).length;
    if (size > MAX_BODY_BYTES)
      throw new HttpError(413, 'Request exceeds the maximum allowed number of bytes.');
    chunks.push(piece as Buffer);
  }
  return Buffer.concat(chunks).toString('utf8');
}

/**
 * Starts the model twin: a local HTTP server speaking the Anthropic Messages API,
 * answering with scripted scenarios, with honest usage and prompt-cache accounting
 * and fault injection. See README.md.
 */
export async function startModelTwin(options: ModelTwinOptions = {}): Promise<ModelTwin> {
  const apiKey = options.apiKey ?? DEFAULT_TWIN_API_KEY;
  const now = options.now ?? Date.now;
  const registry: Record<string, Scenario> = { ...shippedScenarios };
  const cache = new PromptCache(now);
  const ledger = new ThinkingLedger();
  const usage = zeroTotals();
  const requests: RecordedRequest[] = [];
  let faultRules: FaultRule[] = [];
  const conversationState = new Map<string, Record<string, unknown>>();
  const lifetime = new AbortController();

  const resolveScenario = (s: string | Scenario): Scenario => {
    if (typeof s !== 'string') {
      registry[s.name] = s;
      return s;
    }
    const found = registry[s];
    if (!found) throw new Error(`unknown scenario "${s}"; known: ${Object.keys(registry).join(', ')}`);
    return found;
  };
  let defaultScenario = resolveScenario(options.scenario ?? 'echo');

  const faults = {
    add(rule: FaultRuleInput) {
      faultRules.push(FaultRule.parse(rule));
    },
    clear() {
      faultRules = [];
    },
    pending() {
      return faultRules.map((r) => ({ ...r }));
    },
  };

  const takeFault = (path: string): FaultRule | undefined => {
    const index = faultRules.findIndex((r) => r.path === undefined || r.path === path);
    if (index < 0) return undefined;
    const rule = faultRules[index]!;
    const taken = { ...rule };
    rule.times -= 1;
    if (rule.times <= 0) faultRules.splice(index, 1);
    return taken;
  };

  const sendJson = (
    res: ServerResponse,
    status: number,
    body: unknown,
    headers: Record<string, string> = {},
  ) => {
    if (res.headersSent || res.destroyed) return;
    const text = JSON.stringify(body);
    res.writeHead(status, {
      'content-type': 'application/json',
      'content-length': Buffer.byteLength(text),
      ...headers,
    });
    res.end(text);
  };

  const sendError = (
    res: ServerResponse,
    record: RecordedRequest | undefined,
    status: number,
    message: string,
    headers: Record<string, string> = {},
  ) => {
    const type = ERROR_TYPES[status] ?? 'api_error';
    if (record) {
      record.status = status;
      record.error = { type, message };
    }
    sendJson(
      res,
      status,
      { type: 'error', error: { type, message }, request_id: record?.id ?? newId('req') },
      {
        'request-id': record?.id ?? newId('req'),
        ...headers,
      },
    );
  };

  const authenticate = (req: IncomingMessage) => {
    const header = req.headers['x-api-key'];
    const bearer = /^Bearer\s+(.+)$/i.exec(req.headers.authorization ?? '')?.[1];
    const given = (Array.isArray(header) ? header[0] : header) ?? bearer;
    if (!given) throw new HttpError(401, 'x-api-key header is required');
    if (given !== apiKey) throw new HttpError(401, 'invalid x-api-key');
    if (!req.headers['anthropic-version']) throw new HttpError(400, 'anthropic-version: header is required');
  };

  const parseJson = (raw: string): unknown => {
    try {
      return JSON.parse(raw);
    } catch {
      throw new HttpError(400, 'There was an issue with the request body: it is not valid JSON');
    }
  };

  const writeEvents = async (
    res: ServerResponse,
    events: SseEvent[],
    fault: FaultRule | undefined,
    record: RecordedRequest,
  ) => {
    res.writeHead(200, {
      'content-type': 'text/event-stream; charset=utf-8',
      'cache-control': 'no-cache',
      connection: 'keep-alive',
      'request-id': record.id,
    });
    let written = 0;
    for (const event of events) {
      if (fault?.cutStreamAfterEvents !== undefined && written >= fault.cutStreamAfterEvents) {
        record.cut = true;
        // Let the events already written reach the client before the connection drops,
        // so it sees a stream that starts well and then breaks.
        await sleep(50, undefined, { signal: lifetime.signal }).catch(() => undefined);
        res.destroy();
        return;
      }
      if (fault?.errorEventAfterEvents !== undefined && written >= fault.errorEventAfterEvents) {
        record.cut = true;
        record.error = { type: 'overloaded_error', message: 'Overloaded' };
        const data = {
          type: 'error',
          error: { type: 'overloaded_error', message: 'Overloaded' },
          request_id: record.id,
        };
        res.end(`event: error\ndata: ${JSON.stringify(data)}\n\n`);
        return;
      }
      if (fault?.eventDelayMs)
        await sleep(fault.eventDelayMs, undefined, { signal: lifetime.signal }).catch(() => undefined);
      if (res.destroyed) return;
      const frame = `event: ${event.event}\ndata: ${JSON.stringify(event.data)}\n\n`;
      await new Promise<void>((resolve) => res.write(frame, () => resolve()));
      written += 1;
    }
    res.end();
  };

  const handleMessages = async (
    body: unknown,
    req: IncomingMessage,
    res: ServerResponse,
    record: RecordedRequest,
    fault: FaultRule | undefined,
  ) => {
    const parsed = MessagesRequest.safeParse(body);
    if (!parsed.success) throw new HttpError(400, zodMessage(parsed.error));
    const request = parsed.data;
    record.stream = request.stream === true;
    checkConversation(request.messages, request.tools);
    let thinking: ThinkingContext;
    try {
      const config = thinkingConfig(request);
      thinking = { config, ledger, chain: ledger.check(request, config).chain };
    } catch (error) {
      if (error instanceof ThinkingRuleError) throw new HttpError(400, error.message);
      throw error;
    }

    const headerName = req.headers[SCENARIO_HEADER];
    const scenarioName = Array.isArray(headerName) ? headerName[0] : headerName;
    let scenario = defaultScenario;
    if (scenarioName) {
      const found = registry[scenarioName];
      if (!found)
        throw new HttpError(
          400,
          `twin: unknown scenario "${scenarioName}"; known: ${Object.keys(registry).join(', ')}`,
        );
      scenario = found;
    }
    record.scenario = scenario.name;

    const blocks = promptBlocks(request);
    try {
      checkBreakpoints(blocks);
    } catch (error) {
      if (error instanceof CacheRuleError) throw new HttpError(400, error.message);
      throw error;
    }

    const turn = request.messages.filter((m) => m.role === 'assistant').length + 1;
    record.turn = turn;
    const conversationId = createHash('sha256')
      .update(`${scenario.name}\u0000${request.model}\u0000${canonicalJson(request.messages[0])}`)
      .digest('hex')
      .slice(0, 16);
    let state = conversationState.get(conversationId);
    if (!state) {
      state = {};
      conversationState.set(conversationId, state);
    }
    let scripted: ScriptedReply;
    try {
      scripted = await scenario.respond(request, {
        turn,
        state,
        conversationId,
        testCommand: options.testCommand ?? TEST_COMMAND,
      });
    } catch (error) {
      throw new HttpError(
        500,
        `twin: scenario "${scenario.name}" failed: ${error instanceof Error ? error.message : String(error)}`,
      );
    }
    const built = buildMessage(request, scripted, scenario.name, thinking);
    // Only a request that is answered touches the cache: a rejected one writes nothing.
    const outcome = cache.apply(
      request.model,
      blocks,
      options.minCacheableTokens ?? minCacheableTokensFor(request.model),
    );
    const { output_tokens_details } = built.message.usage;
    built.message.usage = {
      ...outcome.usage,
      output_tokens: built.message.usage.output_tokens,
      ...(output_tokens_details ? { output_tokens_details } : {}),
      service_tier: 'standard',
    };
    const finalUsage = built.message.usage;
    record.usage = {
      input_tokens: finalUsage.input_tokens,
      output_tokens: finalUsage.output_tokens,
      cache_creation_input_tokens: finalUsage.cache_creation_input_tokens,
      cache_read_input_tokens: finalUsage.cache_read_input_tokens,
      cache_creation: finalUsage.cache_creation,
      ...(output_tokens_details ? { output_tokens_details } : {}),
    };
    record.cache = outcome.report;
    record.response = built.message.content;
    record.status = 200;
    usage.requests += 1;
    usage.inputTokens += finalUsage.input_tokens;
    usage.outputTokens += finalUsage.output_tokens;
    usage.cacheCreationInputTokens += finalUsage.cache_creation_input_tokens;
    usage.cacheReadInputTokens += finalUsage.cache_read_input_tokens;
    usage.cacheCreation5mInputTokens += finalUsage.cache_creation.ephemeral_5m_input_tokens;
    usage.cacheCreation1hInputTokens += finalUsage.cache_creation.ephemeral_1h_input_tokens;

    if (request.stream) {
      await writeEvents(res, streamEvents(built), fault, record);
      return;
    }
    if (fault?.cutStreamAfterEvents !== undefined) {
      // A non-streaming request with a cut rule loses its connection before any byte of the answer.
      record.cut = true;
      res.destroy();
      return;
    }
    sendJson(res, 200, built.message, { 'request-id': record.id });
  };

  const handleCountTokens = (body: unknown, res: ServerResponse, record: RecordedRequest) => {
    const parsed = CountTokensRequest.safeParse(body);
    if (!parsed.success) throw new HttpError(400, zodMessage(parsed.error));
    checkConversation(parsed.data.messages, parsed.data.tools);
    record.status = 200;
    sendJson(res, 200, { input_tokens: estimateInputTokens(parsed.data) }, { 'request-id': record.id });
  };

  const handleControl = async (req: IncomingMessage, res: ServerResponse, path: string, raw: string) => {
    const method = req.method ?? 'GET';
    if (path === '/_twin/health' && method === 'GET')
      return sendJson(res, 200, { ok: true, scenario: defaultScenario.name });
    if (path === '/_twin/usage' && method === 'GET') {
      return sendJson(res, 200, { usage, requests: requests.length, cacheEntries: cache.size });
    }
    if (path === '/_twin/requests' && method === 'GET') return sendJson(res, 200, requests);
    if (path === '/_twin/faults' && method === 'GET') return sendJson(res, 200, faults.pending());
    if (path === '/_twin/faults' && method === 'DELETE') {
      faults.clear();
      return sendJson(res, 200, []);
    }
    if (path === '/_twin/faults' && method === 'POST') {
      const body = parseJson(raw);
      const rules = Array.isArray(body) ? body : [body];
      const parsed = rules.map((r) => FaultRule.safeParse(r));
      const bad = parsed.find((p) => !p.success);
      if (bad && !bad.success) throw new HttpError(400, zodMessage(bad.error));
      for (const p of parsed) if (p.success) faultRules.push(p.data);
      return sendJson(res, 201, faults.pending());
    }
    if (path === '/_twin/scenario' && method === 'POST') {
      const body = parseJson(raw) as { name?: unknown };
      if (typeof body?.name !== 'string' || !registry[body.name]) {
        throw new HttpError(400, `twin: unknown scenario; known: ${Object.keys(registry).join(', ')}`);
      }
      defaultScenario = registry[body.name]!;
      return sendJson(res, 200, { scenario: defaultScenario.name });
    }
    if (path === '/_twin/reset' && method === 'POST') {
      reset();
      return sendJson(res, 200, { ok: true });
    }
    throw new HttpError(404, `Not found: ${method} ${path}`);
  };

  const reset = () => {
    Object.assign(usage, zeroTotals());
    requests.length = 0;
    cache.clear();
    ledger.reset();
    faultRules = [];
    conversationState.clear();
  };

  const server = createServer((req, res) => {
    void (async () => {
      const path = (req.url ?? '/').split('?')[0]!;
      let record: RecordedRequest | undefined;
      try {
        const raw = await readBody(req);
        if (path.startsWith('/_twin/')) return await handleControl(req, res, path, raw);
        const known = path === '/v1/messages' || path === '/v1/messages/count_tokens';
        record = {
          id: newId('req'),
          at: now(),
          method: req.method ?? 'GET',
          path,
          stream: false,
          status: 0,
          headers: safeHeaders(req),
        };
        requests.push(record);
        if (options.maxRecordedRequests !== undefined && requests.length > options.maxRecordedRequests) {
          requests.splice(0, requests.length - options.maxRecordedRequests);
        }
        const finished = record;
        res.once('close', () => options.onRequest?.(finished));
        if (!known) throw new HttpError(404, `Not found: ${req.method} ${path}`);
        if (req.method !== 'POST') throw new HttpError(405, `Method ${req.method} not allowed`);
        authenticate(req);
        const body = parseJson(raw);
        record.body = body;
        if (body !== null && typeof body === 'object' && (body as { stream?: unknown }).stream === true)
          record.stream = true;
        const fault = takeFault(path);
        if (fault) record.fault = fault;
        if (fault?.delayMs)
          await sleep(fault.delayMs, undefined, { signal: lifetime.signal }).catch(() => undefined);
        if (res.destroyed) return;
        if (fault?.status) {
          const headers: Record<string, string> = {};
          if (fault.retryAfterSeconds !== undefined) headers['retry-after'] = String(fault.retryAfterSeconds);
          return sendError(
            res,
            record,
            fault.status,
            ERROR_MESSAGES[fault.status] ?? 'Injected fault.',
            headers,
          );
        }
        if (path === '/v1/messages') await handleMessages(body, req, res, record, fault);
        else handleCountTokens(body, res, record);
      } catch (error) {
        if (error instanceof HttpError) return sendError(res, record, error.status, error.message);
        sendError(res, record, 500, `twin: ${error instanceof Error ? error.message : String(error)}`);
      }
    })();
  });

  // Keep idle connections open longer than clients do (undici: 4 s, then reuse): a server
  // closing an idle socket while the client reuses it is the classic ECONNRESET race.
  server.keepAliveTimeout = 75_000;
  server.headersTimeout = 80_000;
  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen(options.port ?? 0, options.host ?? '127.0.0.1', () => {
      server.off('error', reject);
      resolve();
    });
  });
  const address = server.address() as AddressInfo;
  const host = address.family === 'IPv6' ? `[${address.address}]` : address.address;

  return {
    url: `http://${host === '0.0.0.0' ? '127.0.0.1' : host}:${address.port}`,
    apiKey,
    setScenario(s) {
      defaultScenario = resolveScenario(s);
    },
    scenarios: registry,
    usage,
    requests,
    faults,
    reset,
    close: () =>
      new Promise<void>((resolve) => {
        lifetime.abort();
        server.close(() => resolve());
        server.closeAllConnections();
      }),
  };
}
