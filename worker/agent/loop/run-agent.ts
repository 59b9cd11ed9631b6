import { PullwrightError, toPullwrightError } from '../../../src/errors.js';
import type { Logger } from '../../../src/logger.js';
import { redactText } from '../../../src/logger.js';
import {
  type AssistantBlock,
  addUsage,
  type ContentBlock,
  emptyUsage,
  type Message,
  type Model,
  type ModelResponse,
  type TextBlock,
  type ToolDefinition,
  type ToolResultBlock,
  type ToolUseBlock,
  type Usage,
} from '../../model/model.js';
import { costOf, type PriceTable } from '../../model/pricing.js';
import type { Sandbox } from '../../sandbox/sandbox.js';
import type { AgentEvent, AgentTask, PlanItem, ThreadReply, Tool, ToolResult } from '../tool.js';
import { type Budgets, exceededLimit, type LimitKind, nearLimits, wrapUpNote } from './budgets.js';
import { applyCacheBreakpoints } from './cache-breakpoints.js';
import {
  type CompactionOptions,
  clearOldToolResults,
  DEFAULT_COMPACTION,
  dropThinkingFrom,
  estimateTokens,
  SUMMARY_REQUEST,
  summarizedHistory,
} from './compaction.js';
import { canonicalize, stableStringify } from './stable-json.js';
import { loadTranscript, TranscriptWriter } from './transcript.js';
import { capText } from './truncate.js';

export type { Budgets, LimitKind } from './budgets.js';

export interface AgentResult {
  outcome: 'completed' | 'no-changes' | 'limit' | 'error' | 'cancelled';
  summary: string;
  limit?: LimitKind;
  error?: { code: string; message: string };
  usage: { input: number; output: number; cacheRead: number; cacheWrite: number; costUsd: number };
  turns: number;
  durationMs: number;
  plan: PlanItem[];
  /** Replies the agent wrote for individual review threads (address-review), secrets scrubbed. */
  threadReplies?: ThreadReply[];
}

export interface RunAgentOptions {
  model: Model;
  sandbox: Sandbox;
  tools: Tool[];
  system: string;
  /** From the context builder: the task, fenced and sanitized. Never compacted away. */
  firstUserMessage: string;
  task?: AgentTask;
  budgets: Budgets;
  signal: AbortSignal;
  log: Logger;
  transcriptPath: string;
  onEvent?: (event: AgentEvent) => void;
  /** Extra strings scrubbed from the transcript and from tool output (API key, tokens). */
  secrets?: string[];
  /** Decides `no-changes` for a completed run (the caller sees the workspace diff). */
  hasChanges?: () => Promise<boolean>;
  /** Continue the run recorded in this transcript. */
  resumeFrom?: string;
  prices?: PriceTable;
  /** Per tool call; the tool's own exec timeout is usually shorter. */
  toolTimeoutMs?: number;
  /** Final cap on one tool result entering the history (head and tail kept). */
  maxToolResultChars?: number;
  compaction?: Partial<CompactionOptions>;
  onText?: (delta: string) => void;
}

export const DEFAULT_MAX_TOOL_RESULT_CHARS = 16_000;
const DEFAULT_TOOL_TIMEOUT_MS = 15 * 60_000;

const NUDGE =
  '[harness] You ended your turn without calling the finish tool. If the task is done, call finish with a summary; otherwise continue working with the tools.';
const SHORTER =
  '[harness] Your last response was cut off at the output token limit. Continue, and keep each response shorter (split large file writes into several smaller edits).';

function toolSummary(name: string, input: unknown): string {
  const s = stableStringify(input);
  return `${name} ${s.length > 160 ? `${s.slice(0, 157)}...` : s}`;
}

function lastText(content: ContentBlock[]): string {
  return content
    .filter((b): b is TextBlock => b.type === 'text')
    .map((b) => b.text)
    .join('\n')
    .trim();
}

function planNote(plan: PlanItem[]): string {
  if (plan.length === 0) return '';
  return `Current plan:\n${plan.map((p) => `- [${p.status}] ${p.step}`).join('\n')}`;
}

/** Races a promise against an abort signal, so a tool that ignores its signal cannot hold the run. */
function untilAborted<T>(promise: Promise<T>, signal: AbortSignal): Promise<T> {
  if (signal.aborted) return Promise.reject(new PullwrightError('cancelled', 'Aborted'));
  return new Promise<T>((resolve, reject) => {
    const onAbort = () => reject(new PullwrightError('cancelled', 'Aborted'));
    signal.addEventListener('abort', onAbort, { once: true });
    promise.then(
      (v) => {
        signal.removeEventListener('abort', onAbort);
        resolve(v);
      },
      (e: unknown) => {
        signal.removeEventListener('abort', onAbort);
        reject(e);
      },
    );
  });
}

/**
 * The agent loop: call the model, run the tool calls it asks for through the
 * tools (which run in the Sandbox), return their results, until `finish`, a
 * budget, an error or cancellation. The history is append-only between
 * compactions so every turn reads the earlier prefix from the prompt cache.
 */
export async function runAgent(options: RunAgentOptions): Promise<AgentResult> {
  const started = Date.now();
  const { model, budgets, log } = options;
  const secrets = options.secrets ?? [];
  const compaction: CompactionOptions = { ...DEFAULT_COMPACTION, ...options.compaction };
  const maxResultChars = options.maxToolResultChars ?? DEFAULT_MAX_TOOL_RESULT_CHARS;
  const toolTimeoutMs = options.toolTimeoutMs ?? DEFAULT_TOOL_TIMEOUT_MS;
  const toolsByName = new Map(options.tools.map((t) => [t.name, t]));
  // Fixed for the whole run: any change here would invalidate every cached prefix.
  const toolDefs: ToolDefinition[] = options.tools.map((t) => ({
    name: t.name,
    description: t.description,
    input_schema: canonicalize(t.inputJsonSchema),
  }));
  const system: TextBlock[] = [{ type: 'text', text: options.system }];
  const transcript = new TranscriptWriter(options.transcriptPath, secrets, (err) =>
    log.warn({ err }, 'Transcript cannot be written; the run goes on without it'),
  );
  const emit = (event: AgentEvent) => {
    try {
      options.onEvent?.(event);
    } catch (err) {
      log.warn({ err }, 'Agent event handler failed');
    }
  };

  let history: Message[];
  let turns = 0;
  let usage: Usage = emptyUsage();
  let costUsd = 0;
  let plan: PlanItem[] = [];
  let loadedCount = 0;
  if (options.resumeFrom) {
    const loaded = loadTranscript(options.resumeFrom);
    history = loaded.messages;
    turns = loaded.turns;
    usage = loaded.usage;
    costUsd = loaded.costUsd;
    plan = loaded.plan;
    loadedCount = history.length;
    const last = history.at(-1);
    if (!last) history = [{ role: 'user', content: [{ type: 'text', text: options.firstUserMessage }] }];
    else if (last.role === 'assistant') {
      // Tool calls whose results were never recorded are answered so the history stays valid.
      const pending = last.content.filter((b): b is ToolUseBlock => b.type === 'tool_use');
      const content: ContentBlock[] = pending.map((u) => ({
        type: 'tool_result',
        tool_use_id: u.id,
        content: '[harness] The run was interrupted before this tool call finished; run it again if needed.',
        is_error: true,
      }));
      content.push({ type: 'text', text: '[harness] The run was resumed. Continue the task.' });
      history.push({ role: 'user', content });
    }
  } else {
    history = [{ role: 'user', content: [{ type: 'text', text: options.firstUserMessage }] }];
  }
  transcript.write({
    type: 'start',
    at: new Date(started).toISOString(),
    model: model.name,
    system: options.system,
    tools: toolDefs.map((t) => t.name),
    ...(options.task ? { task: options.task.kind } : {}),
    resumed: options.resumeFrom !== undefined,
  });

  // Messages already on disk are never written twice; resuming into another file starts it with a snapshot.
  let logged = loadedCount;
  if (options.resumeFrom && options.resumeFrom !== options.transcriptPath && loadedCount > 0)
    transcript.write({
      type: 'snapshot',
      turns,
      usage,
      costUsd,
      plan,
      messages: history.slice(0, loadedCount),
    });
  let previousTail: number | undefined;
  let lastContext = 0;
  /** The next request's size: the last one's as the API counted it, plus what was added since (estimated). */
  const upcomingContext = () =>
    previousTail === undefined ? lastContext : lastContext + estimateTokens(history.slice(previousTail + 2));
  let nudged = false;
  let lastCompactionTurn = Number.NEGATIVE_INFINITY;
  const warned = new Set<LimitKind>();
  const pendingNotes: string[] = [];
  let lastAssistantText = '';

  // The wall-time budget also bounds a request or tool in flight.
  const wallDeadline = AbortSignal.timeout(Math.max(1, budgets.maxWallMs));
  const runSignal = AbortSignal.any([options.signal, wallDeadline]);

  const finish = async (
    outcome: AgentResult['outcome'],
    summary: string,
    extra: {
      limit?: LimitKind;
      error?: { code: string; message: string };
      threadReplies?: ThreadReply[];
    } = {},
  ): Promise<AgentResult> => {
    const { threadReplies, ...rest } = extra;
    let finalOutcome = outcome;
    if (outcome === 'completed' && options.hasChanges) {
      try {
        if (!(await options.hasChanges())) finalOutcome = 'no-changes';
      } catch (err) {
        log.warn({ err }, 'Change check failed');
      }
    }
    const result: AgentResult = {
      outcome: finalOutcome,
      summary: redactText(summary, secrets),
      ...rest,
      ...(threadReplies
        ? { threadReplies: threadReplies.map((r) => ({ ...r, reply: redactText(r.reply, secrets) })) }
        : {}),
      usage: {
        input: usage.input,
        output: usage.output,
        cacheRead: usage.cacheRead,
        cacheWrite: usage.cacheWrite,
        costUsd,
      },
      turns,
      durationMs: Date.now() - started,
      plan,
    };
    if (history.length > logged)
      transcript.write({ type: 'messages', turn: turns, messages: history.slice(logged) });
    transcript.write({ type: 'result', result });
    log.info({ outcome: finalOutcome, turns, costUsd, limit: extra.limit }, 'Agent run ended');
    return result;
  };

  const stopped = (): Promise<AgentResult> | undefined => {
    if (options.signal.aborted) return finish('cancelled', 'The run was cancelled.');
    if (wallDeadline.aborted)
      return finish(
        'limit',
        `Stopped at the wall time budget after ${turns} turns. ${lastAssistantText}`.trim(),
        {
          limit: 'wall_time',
        },
      );
    return undefined;
  };

  const callModel = async (messages: Message[], extra: { toolChoice?: 'none'; maxTokens?: number } = {}) => {
    const t0 = Date.now();
    const placed = applyCacheBreakpoints({
      tools: toolDefs,
      system,
      messages,
      previousTailIndex: previousTail,
    });
    const response: ModelResponse = await model.complete({
      ...placed,
      ...extra,
      signal: runSignal,
      onText: options.onText,
    });
    const cost = costOf(response.usage, model.name, options.prices);
    usage = addUsage(usage, response.usage);
    costUsd += cost;
    return { response, cost, durationMs: Date.now() - t0 };
  };

  const compact = async (): Promise<void> => {
    const cleared = clearOldToolResults(history, compaction);
    let kind: 'clear' | 'summary' = 'clear';
    if (cleared.cleared > 0) history = cleared.messages;
    // Preserved thinking: blocks after the edit would fail the API's prefix check.
    if (cleared.cleared > 0 && model.preservedThinking)
      history = dropThinkingFrom(history, cleared.firstChanged);
    const estimate = upcomingContext() - Math.floor(cleared.savedChars / 4);
    if (estimate > compaction.targetShare * model.contextWindow) {
      // Clearing was not enough: summarize the older turns in one model call (it reads the cached prefix).
      const request = history.slice();
      const tail = request.at(-1) as Message;
      request[request.length - 1] = {
        role: tail.role,
        content: [...tail.content, { type: 'text', text: SUMMARY_REQUEST }],
      };
      const { response, cost } = await callModel(request, { toolChoice: 'none', maxTokens: 4096 });
      transcript.write({
        type: 'response',
        turn: turns,
        id: response.id,
        stopReason: response.stopReason,
        content: response.content,
        usage: response.usage,
        costUsd: cost,
        durationMs: 0,
      });
      const summary = lastText(response.content);
      if (summary) {
        history = summarizedHistory(history, summary, planNote(plan), compaction.keepTurns);
        if (model.preservedThinking) history = dropThinkingFrom(history, 0);
        kind = 'summary';
      }
    }
    if (cleared.cleared === 0 && kind === 'clear') return;
    previousTail = undefined;
    logged = history.length;
    transcript.write({ type: 'compaction', kind, cleared: cleared.cleared, messages: history });
    const note = planNote(plan);
    pendingNotes.push(
      `[harness] Older tool outputs were cleared to save context; run a command again if you need its output.${note ? `\n${note}` : ''}`,
    );
    emit({
      type: 'status',
      message: kind === 'summary' ? 'Summarized older turns' : 'Cleared old tool outputs',
    });
    log.info({ kind, cleared: cleared.cleared, contextTokens: upcomingContext() }, 'Context compacted');
    // Until the next response reports real usage, the size is estimated from the text.
    lastContext = estimateTokens(history);
  };

  try {
    for (;;) {
      const stop = stopped();
      if (stop) return await stop;
      const state = { turns, usage, costUsd, elapsedMs: Date.now() - started };
      const limit = exceededLimit(budgets, state);
      if (limit)
        return await finish(
          'limit',
          `Stopped at the ${limit} budget after ${turns} turns. ${lastAssistantText}`.trim(),
          {
            limit,
          },
        );
      const near = nearLimits(budgets, state).filter((k) => !warned.has(k));
      if (near.length > 0) {
        for (const k of near) warned.add(k);
        pendingNotes.push(wrapUpNote(near));
        emit({ type: 'status', message: `Near the ${near.join(', ')} budget; asked the agent to wrap up` });
      }
      // Hysteresis: compacting invalidates the cache from the first changed message, so never two in a row.
      if (
        upcomingContext() > compaction.triggerShare * model.contextWindow &&
        turns - lastCompactionTurn >= compaction.keepTurns
      ) {
        lastCompactionTurn = turns;
        await compact();
      }

      // Notes go at the end of the newest (still unsent) user message: nothing already sent is rewritten.
      if (pendingNotes.length > 0) {
        const tail = history.at(-1) as Message;
        history[history.length - 1] = {
          role: tail.role,
          content: [...tail.content, ...pendingNotes.map((text): TextBlock => ({ type: 'text', text }))],
        };
        pendingNotes.length = 0;
      }
      transcript.write({ type: 'messages', turn: turns + 1, messages: history.slice(logged) });
      logged = history.length;

      const { response, cost, durationMs } = await callModel(history);
      previousTail = history.length - 1;
      turns += 1;
      const u = response.usage;
      lastContext = u.input + u.cacheRead + u.cacheWrite + u.output;
      emit({
        type: 'turn',
        turn: turns,
        usage: { input: u.input, output: u.output, cacheRead: u.cacheRead, cacheWrite: u.cacheWrite },
      });
      // Kept exactly as received (thinking, signatures, tool input key order): the API
      // checks replayed thinking against everything before it, this message included.
      const content: AssistantBlock[] = response.content.slice();
      if (content.length === 0) content.push({ type: 'text', text: '(no output)' });
      transcript.write({
        type: 'response',
        turn: turns,
        id: response.id,
        stopReason: response.stopReason,
        content,
        usage: u,
        costUsd: cost,
        durationMs,
      });
      history.push({ role: 'assistant', content });
      logged = history.length;
      const text = lastText(content);
      if (text) lastAssistantText = text;

      const uses = content.filter((b): b is ToolUseBlock => b.type === 'tool_use');
      if (uses.length === 0) {
        if (response.stopReason === 'refusal') {
          const message = 'The model declined to continue with this task.';
          return await finish('error', `${message} ${lastAssistantText}`.trim(), {
            error: { code: 'input_invalid', message },
          });
        }
        if (response.stopReason === 'max_tokens') {
          history.push({ role: 'user', content: [{ type: 'text', text: SHORTER }] });
          continue;
        }
        if (!nudged) {
          nudged = true;
          history.push({ role: 'user', content: [{ type: 'text', text: NUDGE }] });
          continue;
        }
        return await finish('completed', lastAssistantText || 'The agent ended without a summary.');
      }

      // A finish called together with other tools runs last, after their work is done.
      const ordered = [
        ...uses.filter((u) => u.name !== 'finish'),
        ...uses.filter((u) => u.name === 'finish'),
      ];
      const results = new Map<string, ToolResultBlock>();
      let finishSummary: string | undefined;
      let finishThreads: ThreadReply[] | undefined;
      for (const use of ordered) {
        const stop = stopped();
        if (stop) return await stop;
        const t0 = Date.now();
        const result = await runTool(use);
        const durationMs = Date.now() - t0;
        const stopAfter = stopped();
        if (stopAfter) return await stopAfter;
        const body = capText(redactText(result.content, secrets), maxResultChars);
        results.set(use.id, {
          type: 'tool_result',
          tool_use_id: use.id,
          content: body || '(no output)',
          ...(result.isError ? { is_error: true } : {}),
        });
        transcript.write({
          type: 'tool',
          turn: turns,
          id: use.id,
          name: use.name,
          input: use.input,
          durationMs,
          resultChars: result.content.length,
          isError: result.isError,
        });
        emit({
          type: 'tool',
          name: use.name,
          summary: toolSummary(use.name, use.input),
          durationMs,
          isError: result.isError,
        });
        if (!result.isError && result.effect?.kind === 'plan') {
          plan = result.effect.items;
          transcript.write({ type: 'plan', items: plan });
          emit({ type: 'plan', items: plan });
        }
        if (!result.isError && result.effect?.kind === 'finish') {
          finishSummary = result.effect.summary;
          finishThreads = result.effect.threads;
        }
      }
      history.push({ role: 'user', content: uses.map((u) => results.get(u.id) as ToolResultBlock) });
      if (finishSummary !== undefined) {
        return await finish('completed', finishSummary, { threadReplies: finishThreads });
      }
      if (response.stopReason === 'max_tokens') pendingNotes.push(SHORTER);
    }
  } catch (err) {
    const stop = stopped();
    if (stop) return await stop;
    const e = toPullwrightError(err);
    log.warn({ code: e.code, err: e }, 'Agent run failed');
    return await finish('error', `The run failed: ${redactText(e.message, secrets)}`, {
      error: { code: e.code, message: redactText(e.message, secrets) },
    });
  }

  async function runTool(use: ToolUseBlock): Promise<ToolResult> {
    const tool = toolsByName.get(use.name);
    if (!tool)
      return {
        content: `Unknown tool "${use.name}". Available: ${[...toolsByName.keys()].join(', ')}`,
        isError: true,
      };
    const parsed = tool.input.safeParse(use.input);
    if (!parsed.success) {
      const issues = parsed.error.issues
        .map((i) => `${i.path.join('.') || '(input)'}: ${i.message}`)
        .join('; ');
      return { content: `Invalid input for ${use.name}: ${issues}`, isError: true };
    }
    const signal = AbortSignal.any([runSignal, AbortSignal.timeout(toolTimeoutMs)]);
    try {
      return await untilAborted(tool.run(parsed.data, { sandbox: options.sandbox, signal, log }), signal);
    } catch (err) {
      if (runSignal.aborted) return { content: 'The tool call was aborted.', isError: true };
      if (signal.aborted)
        return { content: `The tool call timed out after ${toolTimeoutMs} ms.`, isError: true };
      // Tools report failures as data; a throw is a tool bug, still turned into a result the agent can read.
      const e = toPullwrightError(err);
      log.warn({ tool: use.name, code: e.code }, 'Tool threw');
      return { content: `The tool failed: ${e.message}`, isError: true };
    }
  }
}

export type { Sandbox };
