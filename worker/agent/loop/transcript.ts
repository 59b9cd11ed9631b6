import { appendFileSync, readFileSync } from 'node:fs';
import { chmod } from 'node:fs/promises';
import { dirname } from 'node:path';
import { PullwrightError } from '../../../src/errors.js';
import { redactText } from '../../../src/logger.js';
import type { AssistantBlock, Message } from '../../model/model.js';
import { addUsage, emptyUsage, type Usage } from '../../model/model.js';
import { ensurePrivateDir } from '../../sandbox/private-dir.js';
import { parseSessionMemory, type SessionMemory } from '../memory/session-memory.js';
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
      /** Model usage spent inside the tool (a subagent) and its cost, already in the run's totals. */
      usage?: Usage;
      costUsd?: number;
    }
  | { type: 'plan'; items: PlanItem[] }
  /** The session memory after the agent changed it. */
  | { type: 'memory'; memory: SessionMemory; bytes: number }
  /**
   * Stale tool results cleared in one batch: how many, the characters saved, the first
   * changed message (the cache is rewritten from there) and what that cost in thinking
   * (blocks removed because their prefix changed, and their estimated tokens).
   */
  | {
      type: 'clear';
      turn: number;
      cleared: number;
      savedChars: number;
      firstChanged: number;
      thinkingDropped: number;
      thinkingTokensDropped: number;
      messages: Message[];
    }
  /** The whole history after a compaction, so a resume starts from it. */
  | { type: 'compaction'; kind: 'clear' | 'summary'; cleared: number; messages: Message[] }
  /** The history a resumed run starts from, when it writes to a new file. */
  | {
      type: 'snapshot';
      turns: number;
      usage: Usage;
      costUsd: number;
      plan: PlanItem[];
      memory?: SessionMemory;
      messages: Message[];
    }
  | { type: 'result'; result: unknown };

/** Owner read/write only: a transcript holds the task, the repository's code and the model's reasoning. */
const TRANSCRIPT_FILE_MODE = 0o600;

/**
 * Appends one redacted line per event, synchronously, so the transcript is on
 * disk after every step even if the worker dies right after. Secrets (the API
 * key, tokens) are scrubbed from every line: a transcript may be shown to users.
 *
 * Scrubbing is not enough to make a transcript public: it still holds the task,
 * private code and tool output. So the file is 0600 in a folder only this user
 * controls (0700; a symlink, another user's folder or one others can write is
 * refused, because whoever controls the folder can read or swap the file). A
 * refused folder is like a full disk: the run goes on without a transcript.
 */
export class TranscriptWriter {
  private failed = false;

  private constructor(
    readonly path: string,
    private readonly secrets: readonly string[],
    private readonly onError?: (err: unknown) => void,
  ) {}

  /**
   * Checks (or creates) the private folder, then returns the writer. A file
   * already there (a resume appends to it) is tightened to 0600 as well.
   */
  static async open(
    path: string,
    secrets: readonly string[] = [],
    /** Called once if writing fails (disk full, bad path): the run goes on without a transcript. */
    onError?: (err: unknown) => void,
  ): Promise<TranscriptWriter> {
    const writer = new TranscriptWriter(path, secrets, onError);
    try {
      await ensurePrivateDir(dirname(path), 'transcript folder');
      await chmod(path, TRANSCRIPT_FILE_MODE).catch((err: NodeJS.ErrnoException) => {
        if (err.code !== 'ENOENT') throw err;
      });
    } catch (err) {
      writer.fail(err);
    }
    return writer;
  }

  write(event: TranscriptEvent): void {
    if (this.failed) return;
    try {
      const line = redactText(JSON.stringify(event), this.secrets);
      appendFileSync(this.path, `${line}\n`, { mode: TRANSCRIPT_FILE_MODE });
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
  memory?: SessionMemory;
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
    } else if (event.type === 'tool' && event.usage) {
      out.usage = addUsage(out.usage, event.usage);
      out.costUsd += event.costUsd ?? 0;
    } else if (event.type === 'compaction' || event.type === 'clear') out.messages = event.messages;
    else if (event.type === 'memory') out.memory = parseSessionMemory(event.memory) ?? out.memory;
    else if (event.type === 'snapshot') {
      out.messages = event.messages;
      out.turns = Math.max(out.turns, event.turns);
      out.plan = event.plan;
      if (event.memory) out.memory = parseSessionMemory(event.memory) ?? out.memory;
      out.usage = event.usage;
      out.costUsd = event.costUsd;
    } else if (event.type === 'plan') out.plan = event.items;
    else if (event.type === 'result') out.finished = true;
  }
  return out;
}
