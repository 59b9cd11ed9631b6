import type Anthropic from '@anthropic-ai/sdk';
import { TOOL_DEFINITIONS, ToolRunner } from './tool-runner.js';

type MessageParam = Anthropic.MessageParam;
type ContentBlockParam = Anthropic.ContentBlockParam;

export interface LoopOptions {
  task: string;
  maxTurns: number;
  stream?: boolean;
  /** Rolling cache_control on the last block of the newest message, plus one on the last tool. */
  cache?: boolean;
  model?: string;
  headers?: Record<string, string>;
  /** Lets a test answer a tool call itself (the tool does not run) by returning a result; `call` counts from 1. */
  intercept?: (
    name: string,
    input: unknown,
    call: number,
  ) => { content: string; isError: boolean } | undefined;
}

export interface LoopOutcome {
  turns: number;
  finished: string | null;
  runner: ToolRunner;
  messages: MessageParam[];
  responses: Anthropic.Message[];
}

export const SYSTEM_PROMPT =
  'You are a coding agent working in a repository. Use the tools to inspect and change files; paths are relative to the repository root. Call finish when done.';

function withoutCacheControl(content: MessageParam['content']): MessageParam['content'] {
  if (typeof content === 'string') return content;
  return content.map((block) => {
    if (!('cache_control' in block)) return block;
    const { cache_control: _drop, ...rest } = block;
    return rest as ContentBlockParam;
  });
}

/**
 * A minimal agent loop for the twin's own tests: send, run the tool calls, answer
 * with tool results, until finish or the turn budget. The real loop is worker/agent.
 */
export async function runAgentLoop(
  client: Anthropic,
  root: string,
  options: LoopOptions,
): Promise<LoopOutcome> {
  const runner = new ToolRunner(root);
  const messages: MessageParam[] = [{ role: 'user', content: options.task }];
  const responses: Anthropic.Message[] = [];
  const tools = TOOL_DEFINITIONS.map((t, i) =>
    options.cache && i === TOOL_DEFINITIONS.length - 1
      ? { ...t, cache_control: { type: 'ephemeral' as const } }
      : t,
  );
  let calls = 0;
  let turns = 0;
  while (turns < options.maxTurns && runner.finished === null) {
    turns += 1;
    const sent = messages.map((m, i): MessageParam => {
      const content = withoutCacheControl(m.content);
      if (!options.cache || i !== messages.length - 1) return { ...m, content } as MessageParam;
      const blocks: ContentBlockParam[] =
        typeof content === 'string' ? [{ type: 'text', text: content }] : [...content];
      const last = blocks.at(-1)!;
      blocks[blocks.length - 1] = { ...last, cache_control: { type: 'ephemeral' } } as ContentBlockParam;
      return { ...m, content: blocks } as MessageParam;
    });
    const params = {
      model: options.model ?? 'claude-sonnet-5-5',
      max_tokens: 4096,
      system: SYSTEM_PROMPT,
      tools,
      messages: sent,
    };
    const requestOptions = options.headers ? { headers: options.headers } : undefined;
    const message = options.stream
      ? await client.messages.stream(params, requestOptions).finalMessage()
      : await client.messages.create(params, requestOptions);
    responses.push(message);
    messages.push({ role: 'assistant', content: message.content as ContentBlockParam[] });
    const uses = message.content.filter((b) => b.type === 'tool_use');
    if (uses.length === 0) break;
    const results: ContentBlockParam[] = [];
    for (const use of uses) {
      calls += 1;
      const result =
        options.intercept?.(use.name, use.input, calls) ?? (await runner.run(use.name, use.input));
      results.push({
        type: 'tool_result',
        tool_use_id: use.id,
        content: result.content,
        is_error: result.isError,
      });
    }
    messages.push({ role: 'user', content: results });
  }
  return { turns, finished: runner.finished, runner, messages, responses };
}
