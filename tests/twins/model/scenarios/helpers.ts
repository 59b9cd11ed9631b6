import type {
  ContentBlockParam,
  MessageParam,
  MessagesRequest,
  ScriptedBlock,
  ScriptedReply,
} from '../types.js';

/** One tool call found in the conversation, with its result when the client has answered it. */
export interface ToolExchange {
  id: string;
  name: string;
  input: Record<string, unknown>;
  /** 0-based index of the assistant message that made the call. */
  assistantTurn: number;
  result?: { text: string; isError: boolean };
}

function blocksOf(message: MessageParam): ContentBlockParam[] {
  return typeof message.content === 'string' ? [{ type: 'text', text: message.content }] : message.content;
}

/** The text of a message or tool_result content (text blocks joined by newlines). */
export function textOf(content: MessageParam['content'] | ContentBlockParam[] | undefined): string {
  if (content === undefined) return '';
  if (typeof content === 'string') return content;
  const out: string[] = [];
  for (const block of content) {
    if (block.type === 'text') out.push(block.text);
    else if (block.type === 'tool_result') out.push(toolResultText(block.content));
  }
  return out.join('\n');
}

function toolResultText(content: unknown): string {
  if (typeof content === 'string') return content;
  if (!Array.isArray(content)) return '';
  return content
    .map((part: { type?: string; text?: string }) => (part.type === 'text' ? (part.text ?? '') : ''))
    .join('\n');
}

/** The first user message's text: where the harness puts the task (issue text, instruction). */
export function firstUserText(request: MessagesRequest): string {
  const first = request.messages.find((m) => m.role === 'user');
  if (!first) return '';
  return blocksOf(first)
    .filter((b) => b.type === 'text')
    .map((b) => (b.type === 'text' ? b.text : ''))
    .join('\n');
}

/** Every tool call in the conversation, in order, paired with its tool_result. */
export function toolExchanges(request: MessagesRequest): ToolExchange[] {
  const byId = new Map<string, ToolExchange>();
  const out: ToolExchange[] = [];
  let assistantTurn = -1;
  for (const message of request.messages) {
    if (message.role === 'assistant') assistantTurn += 1;
    for (const block of blocksOf(message)) {
      if (block.type === 'tool_use' && message.role === 'assistant') {
        const exchange: ToolExchange = { id: block.id, name: block.name, input: block.input, assistantTurn };
        byId.set(block.id, exchange);
        out.push(exchange);
      } else if (block.type === 'tool_result') {
        const exchange = byId.get(block.tool_use_id);
        if (exchange)
          exchange.result = { text: toolResultText(block.content), isError: block.is_error === true };
      }
    }
  }
  return out;
}

/** The tool calls answered in the request's last user message (what the tools just returned). */
export function lastToolResults(request: MessagesRequest): ToolExchange[] {
  const all = toolExchanges(request);
  const last = request.messages.at(-1);
  if (last?.role !== 'user' || typeof last.content === 'string') return [];
  const ids = new Set(last.content.flatMap((b) => (b.type === 'tool_result' ? [b.tool_use_id] : [])));
  return all.filter((e) => ids.has(e.id));
}

/** The most recent answered call of a tool (optionally matching a predicate), anywhere in the history. */
export function lastExchange(
  request: MessagesRequest | ToolExchange[],
  name: string,
  match: (e: ToolExchange) => boolean = () => true,
): ToolExchange | undefined {
  const all = Array.isArray(request) ? request : toolExchanges(request);
  for (let i = all.length - 1; i >= 0; i -= 1) {
    const e = all[i]!;
    if (e.name === name && e.result && match(e)) return e;
  }
  return undefined;
}

/** Number of assistant messages in the request (the 0-based index of the turn being answered). */
export function assistantTurns(request: MessagesRequest): number {
  return request.messages.filter((m) => m.role === 'assistant').length;
}

export type TestOutcome = 'pass' | 'fail' | 'unknown';

/**
 * Reads a test run's output the way a model would: node's runner prints `# fail N`
 * (TAP) or `ℹ fail N` (spec); npm prints `ERR!` and shells print exit codes.
 */
export function testOutcome(output: string): TestOutcome {
  const counts = [...output.matchAll(/\bfail(?:ed|ures|ing)?\s*:?\s+(\d+)\b/gi)].map((m) => Number(m[1]));
  if (counts.some((n) => n > 0) || /\b[1-9]\d*\s+(?:tests?\s+)?fail(?:ed|ing|ures?)\b/i.test(output))
    return 'fail';
  if (/\bnot ok\b|✖|npm ERR!|Tests? failed|AssertionError/i.test(output)) return 'fail';
  if (/exit(?:ed)?(?: with)?(?:[ _](?:code|status))?"?\s*[:= ]\s*[1-9]/i.test(output)) return 'fail';
  if (counts.length > 0) return 'pass';
  if (/\bpass(?:ed)?\s*:?\s+[1-9]|\b[1-9]\d*\s+(?:tests?\s+)?pass(?:ed|ing)\b/i.test(output)) return 'pass';
  return 'unknown';
}

export function text(value: string): ScriptedBlock {
  return { type: 'text', text: value };
}

export function tool(name: string, input: Record<string, unknown>): ScriptedBlock {
  return { type: 'tool_use', name, input };
}

export function reply(...content: ScriptedBlock[]): ScriptedReply {
  return { content };
}

export function planUpdate(items: [string, 'pending' | 'in_progress' | 'completed'][]): ScriptedBlock {
  return tool('update_plan', { items: items.map(([step, status]) => ({ step, status })) });
}

/** `threads`: the agent's reply per review thread, by its number in the task. */
export function finish(summary: string, threads?: { thread: number; reply: string }[]): ScriptedReply {
  return { content: [tool('finish', threads ? { summary, threads } : { summary })] };
}

/** A single line, safe to quote in a file or summary: no markup, bounded length. */
export function oneLine(value: string, max = 100): string {
  const flat = value
    .replace(/[`<>\u0000-\u001f\u007f]/g, ' ')
    .replace(/\s+/g, ' ')
    .trim();
  return flat.length > max ? `${flat.slice(0, max - 1)}…` : flat;
}

/** The request's system prompt as one text (string or blocks). */
export function systemText(request: MessagesRequest): string {
  const s = request.system;
  if (s === undefined) return '';
  return typeof s === 'string' ? s : s.map((b) => b.text).join('\n');
}
