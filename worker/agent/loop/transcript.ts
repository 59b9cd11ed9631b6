import { appendFileSync, mkdirSync, readFileSync } from 'node:fs';
import { dirname } from 'node:path';
import { PullwrightError } from '../../../src/errors.js';
import { redactText } from '../../../src/logger.js';
import type { AssistantBlock, Message } from '../../model/model.js';
import { addUsage, emptyUsage, type Usage } from '../../model/model.js';
import type { PlanItem } from '../tool.js';

/** One line of the JSON-lines transcript. */
export type TranscriptEvent =
  | {
      type: 'start';
      at: string;
      model: string;
      system: string;
      tools: string[];
      task?: string;
      resumed: boolean;
    }
  /** Messages added to the history since the previous request (never the whole history again). */
  | { type: 'messages'; turn: number; messages: Message[] }
  | {
      type: 'response';
      turn: number;
      id: string;
      stopReason: string | null;
      content: AssistantBlock[];
      usage: Usage;
      costUsd: number;
      durationMs: number;
    }
  | {
      type: 'tool';
      turn: number;
      id: string;
      name: string;
      input: unknown;
      durationMs: number;
      resultChars: number;
      isError: boolean;
    }
  | { type: 'plan'; items: PlanItem[] }
  /** The whole history after a compaction, so a resume starts from it. */
  | { type: 'compaction'; kind: 'clear' | 'summary'; cleared: number; messages: Message[] }
  /** The history a resumed run starts from, when it writes to a new file. */
  | { type: 'snapshot'; turns: number; usage: Usage; costUsd: number; plan: PlanItem[]; messages: Message[] }
  | { type: 'result'; result: unknown };

/**
 * Appends one redacted line per event, synchronously, so the transcript is on
 * disk after every step even if the worker dies right after. Secrets (the API
 * key, tokens) are scrubbed from every line: a transcript may be shown to users.
 */
export class TranscriptWriter {
  private failed = false;

  constructor(
    readonly path: string,
    private readonly secrets: readonly string[] = [],
    /** Called once if writing fails (disk full, bad path): the run goes on without a transcript. */
    private readonly onError?: (err: unknown) => void,
  ) {
    try {
      mkdirSync(dirname(path), { recursive: true });
    } catch (err) {
      this.fail(err);
    }
  }

  write(event: TranscriptEvent): void {
    if (this.failed) return;
    try {
      const line = redactText(JSON.stringify(event), this.secrets);
      appendFileSync(this.path, `${line}\n`);
    } catch (err) {
      this.fail(err);
    }
  }

  private fail(err: unknown): void {
    this.failed = true;
    this.onError?.(err);
  }
}

export interface LoadedTranscript {
  messages: Message[];
  turns: number;
  usage: Usage;
  costUsd: number;
  plan: PlanItem[];
  finished: boolean;
}

/** Rebuilds the message history (and totals) from a transcript, for `runAgent({ resumeFrom })`. */
export function loadTranscript(path: string): LoadedTranscript {
  let raw: string;
  try {
    raw = readFileSync(path, 'utf8');
  } catch (err) {
    throw new PullwrightError('input_invalid', 'Cannot read the transcript to resume from', {
      retryable: false,
      cause: err,
    });
  }
  const out: LoadedTranscript = {
    messages: [],
    turns: 0,
    usage: emptyUsage(),
    costUsd: 0,
    plan: [],
    finished: false,
  };
  for (const line of raw.split('\n')) {
    if (line.trim() === '') continue;
    let event: TranscriptEvent;
    try {
      event = JSON.parse(line) as TranscriptEvent;
    } catch {
      continue; // a torn last line from a crash mid-write
    }
    if (event.type === 'messages') out.messages.push(...event.messages);
    else if (event.type === 'response') {
      out.messages.push({ role: 'assistant', content: event.content });
      out.turns = Math.max(out.turns, event.turn);
      out.usage = addUsage(out.usage, event.usage);
      out.costUsd += event.costUsd;
    } else if (event.type === 'compaction') out.messages = event.messages;
    else if (event.type === 'snapshot') {
      out.messages = event.messages;
      out.turns = Math.max(out.turns, event.turns);
      out.plan = event.plan;
      out.usage = event.usage;
      out.costUsd = event.costUsd;
    } else if (event.type === 'plan') out.plan = event.items;
    else if (event.type === 'result') out.finished = true;
  }
  return out;
}
