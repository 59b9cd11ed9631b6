import { z } from 'zod';

/**
 * Session memory: what the agent keeps about one issue or pull request, through the
 * `memory` tool. It survives compaction (the summary is built around it) and the run
 * (the host stores it per issue/PR in Redis, src/queue/session-memory-store.ts), so a
 * follow-up run does not rediscover the repository. Small and capped: it is in every
 * request of every later run.
 *
 * Untrusted: the model wrote it after reading issue text, CI logs and repository files,
 * so when it comes back (context, compaction summary) it is sanitized and fenced like
 * an issue body, never read as an instruction from the operator.
 */

export const MEMORY_LIMITS = {
  understanding: 2_000,
  item: 400,
  decisions: 20,
  progress: 30,
  filesTouched: 100,
  openQuestions: 10,
  nextSteps: 15,
  /** The whole memory as stored (JSON, UTF-8). */
  bytes: 16 * 1024,
} as const;

const Item = z.string().max(MEMORY_LIMITS.item);

export const SessionMemory = z.object({
  /** What the task is, as the agent understands it now. */
  understanding: z.string().max(MEMORY_LIMITS.understanding),
  decisions: z.array(z.object({ decision: Item, reason: Item })).max(MEMORY_LIMITS.decisions),
  progress: z.array(Item).max(MEMORY_LIMITS.progress),
  filesTouched: z.array(z.string().max(300)).max(MEMORY_LIMITS.filesTouched),
  openQuestions: z.array(Item).max(MEMORY_LIMITS.openQuestions),
  nextSteps: z.array(Item).max(MEMORY_LIMITS.nextSteps),
});
export type SessionMemory = z.infer<typeof SessionMemory>;

export function emptyMemory(): SessionMemory {
  return {
    understanding: '',
    decisions: [],
    progress: [],
    filesTouched: [],
    openQuestions: [],
    nextSteps: [],
  };
}

export function isEmptyMemory(m: SessionMemory): boolean {
  return (
    m.understanding.trim() === '' &&
    m.decisions.length === 0 &&
    m.progress.length === 0 &&
    m.filesTouched.length === 0 &&
    m.openQuestions.length === 0 &&
    m.nextSteps.length === 0
  );
}

/** Bytes of the memory as stored (the figure the cap and the run record use). */
export function memoryBytes(m: SessionMemory): number {
  return Buffer.byteLength(JSON.stringify(m));
}

/**
 * Reads a stored memory (Redis, a job) as data: anything that is not a valid memory
 * within the caps is no memory at all, never a partial one.
 */
export function parseSessionMemory(raw: unknown): SessionMemory | null {
  const parsed = SessionMemory.safeParse(typeof raw === 'string' ? safeJson(raw) : raw);
  if (!parsed.success || memoryBytes(parsed.data) > MEMORY_LIMITS.bytes) return null;
  return parsed.data;
}

function safeJson(raw: string): unknown {
  try {
    return JSON.parse(raw);
  } catch {
    return null;
  }
}

/** What one `memory` tool call changes: given fields replace (understanding, questions, next steps) or append (the rest). */
export interface MemoryUpdate {
  understanding?: string;
  decisions?: { decision: string; reason: string }[];
  progress?: string[];
  filesTouched?: string[];
  openQuestions?: string[];
  nextSteps?: string[];
}

/**
 * Applies an update. Appended lists keep their newest entries when they pass their cap
 * (the oldest progress lines matter least once later ones exist); a memory still above
 * the byte cap is refused with the reason, so the agent condenses it itself.
 */
export function applyMemoryUpdate(
  current: SessionMemory,
  update: MemoryUpdate,
): { ok: true; memory: SessionMemory; dropped: number } | { ok: false; error: string } {
  let dropped = 0;
  const append = <T>(list: T[], more: T[] | undefined, cap: number, key: (t: T) => string): T[] => {
    if (!more || more.length === 0) return list;
    const seen = new Set(list.map(key));
    const merged = [...list, ...more.filter((m) => !seen.has(key(m)))];
    if (merged.length <= cap) return merged;
    dropped += merged.length - cap;
    return merged.slice(merged.length - cap);
  };
  const memory: SessionMemory = {
    understanding: update.understanding ?? current.understanding,
    decisions: append(current.decisions, update.decisions, MEMORY_LIMITS.decisions, (d) => d.decision),
    progress: append(current.progress, update.progress, MEMORY_LIMITS.progress, (p) => p),
    filesTouched: append(current.filesTouched, update.filesTouched, MEMORY_LIMITS.filesTouched, (p) => p),
    openQuestions: update.openQuestions ?? current.openQuestions,
    nextSteps: update.nextSteps ?? current.nextSteps,
  };
  const checked = SessionMemory.safeParse(memory);
  if (!checked.success)
    return {
      ok: false,
      error: checked.error.issues.map((i) => `${i.path.join('.')}: ${i.message}`).join('; '),
    };
  const bytes = memoryBytes(memory);
  if (bytes > MEMORY_LIMITS.bytes)
    return {
      ok: false,
      error: `The memory would be ${bytes} bytes; the cap is ${MEMORY_LIMITS.bytes}. Condense it: replace understanding, open questions and next steps with shorter text.`,
    };
  return { ok: true, memory, dropped };
}

/** Records a path the agent changed (the loop does this for every successful edit, so the list is complete). */
export function withFileTouched(memory: SessionMemory, path: string): SessionMemory {
  const clean = path.replace(/^\.\//, '').slice(0, 300);
  if (clean === '' || memory.filesTouched.includes(clean)) return memory;
  const filesTouched = [...memory.filesTouched, clean].slice(-MEMORY_LIMITS.filesTouched);
  const next = { ...memory, filesTouched };
  return memoryBytes(next) > MEMORY_LIMITS.bytes ? memory : next;
}

/** Plain-text rendering (markdown lists); the caller fences it as untrusted. */
export function renderMemory(m: SessionMemory): string {
  const out: string[] = [];
  if (m.understanding.trim() !== '') out.push(`Task understanding:\n${m.understanding.trim()}`);
  const list = (title: string, items: string[]) => {
    if (items.length > 0) out.push(`${title}:\n${items.map((i) => `- ${i}`).join('\n')}`);
  };
  list(
    'Decisions',
    m.decisions.map((d) => `${d.decision} (because: ${d.reason})`),
  );
  list('Progress', m.progress);
  list('Files touched', m.filesTouched);
  list('Open questions', m.openQuestions);
  list('Next steps', m.nextSteps);
  return out.join('\n\n');
}

/** The editor tool's commands that change a file (view does not). */
const EDITING = new Set(['create', 'str_replace', 'insert']);

/** The workspace path a successful tool call changed, if the call was an edit. */
export function touchedPath(toolName: string, input: unknown): string | null {
  if (toolName !== 'str_replace_based_edit_tool' || typeof input !== 'object' || input === null) return null;
  const { command, path } = input as { command?: unknown; path?: unknown };
  return typeof command === 'string' && EDITING.has(command) && typeof path === 'string' ? path : null;
}
