import type { ContentBlock, Message, ToolUseBlock } from '../../model/model.js';
import { emptyMemory, type SessionMemory } from '../memory/session-memory.js';
import { dropThinkingFrom } from './compaction.js';
import { freshState, type RunContext, type RunState } from './run-state.js';
import { type LoadedTranscript, loadTranscript } from './transcript.js';

const INTERRUPTED =
  '[harness] The run was interrupted before this tool call finished; run it again if needed.';
const RESUMED = '[harness] The run was resumed. Continue the task.';

/**
 * A thinking block the transcript scrubbed (a secret inside the model's reasoning)
 * no longer matches its signature: it and every later one are removed, the way the
 * API documents for an edited history, rather than replayed altered.
 */
function firstScrubbedThinking(messages: Message[]): number {
  return messages.findIndex((m) =>
    m.content.some(
      (b) =>
        (b.type === 'thinking' && `${b.thinking}${b.signature}`.includes('[REDACTED]')) ||
        (b.type === 'redacted_thinking' && b.data.includes('[REDACTED]')),
    ),
  );
}

function resumedState(loaded: LoadedTranscript, task: Message, memory: SessionMemory): RunState {
  const scrubbed = firstScrubbedThinking(loaded.messages);
  const history = scrubbed >= 0 ? dropThinkingFrom(loaded.messages, scrubbed) : loaded.messages;
  const state: RunState = {
    ...freshState(history, loaded.memory ?? memory),
    turns: loaded.turns,
    usage: loaded.usage,
    costUsd: loaded.costUsd,
    plan: loaded.plan,
    logged: history.length,
  };
  const last = history.at(-1);
  if (!last) state.history = [task];
  else if (last.role === 'assistant') {
    // Tool calls whose results were never recorded are answered so the history stays valid.
    const pending = last.content.filter((b): b is ToolUseBlock => b.type === 'tool_use');
    const content: ContentBlock[] = pending.map((u) => ({
      type: 'tool_result',
      tool_use_id: u.id,
      content: INTERRUPTED,
      is_error: true,
    }));
    content.push({ type: 'text', text: RESUMED });
    history.push({ role: 'user', content });
  }
  return state;
}

/**
 * How a run starts: the task alone, or the run recorded in `options.resumeFrom`
 * (appended to, never rewritten). Writes the transcript's `start` line, and when
 * resuming into another file a snapshot first, so that file stands alone.
 */
export function startState(ctx: RunContext): RunState {
  const { options } = ctx;
  const task: Message = { role: 'user', content: [{ type: 'text', text: options.firstUserMessage }] };
  const loaded = options.resumeFrom ? loadTranscript(options.resumeFrom) : undefined;
  const memory = options.memory ?? options.task?.memory ?? emptyMemory();
  const state = loaded ? resumedState(loaded, task, memory) : freshState([task], memory);
  ctx.transcript.write({
    type: 'start',
    at: new Date(ctx.started).toISOString(),
    model: ctx.model.name,
    system: options.system,
    tools: ctx.toolDefs.map((t) => t.name),
    ...(options.task ? { task: options.task.kind } : {}),
    resumed: options.resumeFrom !== undefined,
  });
  if (loaded && options.resumeFrom !== options.transcriptPath && state.logged > 0)
    ctx.transcript.write({
      type: 'snapshot',
      turns: state.turns,
      usage: state.usage,
      costUsd: state.costUsd,
      plan: state.plan,
      memory: state.memory,
      messages: state.history.slice(0, state.logged),
    });
  return state;
}
