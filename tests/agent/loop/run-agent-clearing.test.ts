import { mkdir, mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { afterAll, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import { createSilentLogger } from '../../../src/logger.js';
import type { Target } from '../../../src/queue/queue-names.js';
import type { SessionMemoryStore } from '../../../src/queue/session-memory-store.js';
import { renderTask } from '../../../worker/agent/context/render-task.js';
import { runAgent } from '../../../worker/agent/loop/run-agent.js';
import { loadTaskMemory, saveTaskMemory } from '../../../worker/agent/memory/memory-carry.js';
import { withMemoryTool } from '../../../worker/agent/memory/memory-tool.js';
import type { AgentEvent } from '../../../worker/agent/tool.js';
import { createDefaultTools } from '../../../worker/agent/tools/index.js';
import { type ModelTwin, memoryClearingRepo, startModelTwin } from '../../twins/model/index.js';
import { twinRunOptions } from './twin-run.js';

interface SentBlock {
  type: string;
  text?: string;
  content?: string;
  name?: string;
  input?: { command?: string };
  tool_use_id?: string;
}
interface SentMessage {
  role: string;
  content: SentBlock[];
}

interface SentBody {
  messages: SentMessage[];
  tool_choice?: { type: string };
}
const bodyOf = (r: { body?: unknown } | undefined) => (r?.body ?? { messages: [] }) as SentBody;

/** Small thresholds so 14 turns of a 200 KB file trigger clearing batches and a summary. */
const COMPACTION = {
  clearAtTokens: 7_000,
  clearBatchTokens: 2_000,
  clearKeepTurns: 2,
  keepTurns: 2,
  maxContextTokens: 9_000,
};

/** An in-memory store with the Redis store's contract (tests/queue/session-memory-store.test.ts tests the real one). */
function memoryStore(): SessionMemoryStore {
  const data = new Map<string, string>();
  const key = (t: Target) => `${t.installationId}:${t.repo.id}:${t.number}`;
  return {
    load: async (t) => (data.has(key(t)) ? JSON.parse(data.get(key(t)) as string) : null),
    save: async (t, m) => {
      data.set(key(t), JSON.stringify(m));
      return { saved: true, bytes: Buffer.byteLength(JSON.stringify(m)) };
    },
    forget: async (t) => {
      data.delete(key(t));
    },
  };
}

describe('stale tool results cleared and session memory kept, through the real loop on a thinking twin', {
  timeout: 60_000,
}, () => {
  let twin: ModelTwin;
  let dir: string;

  beforeAll(async () => {
    twin = await startModelTwin({ scenario: 'memory-clearing-thinking' });
  });
  afterAll(async () => {
    await twin.close();
  });
  beforeEach(async () => {
    twin.reset();
    dir = await mkdtemp(join(tmpdir(), 'pw-loop-clearing-'));
    for (const [path, content] of Object.entries(memoryClearingRepo())) {
      await mkdir(dirname(join(dir, path)), { recursive: true });
      await writeFile(join(dir, path), content);
    }
    return async () => {
      await rm(dir, { recursive: true, force: true });
    };
  });

  it('clears in batches anchored on a breakpoint, keeps the requests valid, summarizes around the memory, and a follow-up starts with it', async () => {
    const events: AgentEvent[] = [];
    const store = memoryStore();
    const target: Target = { installationId: 1, repo: { owner: 'o', name: 'r', id: 42 }, number: 5 };
    const result = await runAgent(
      twinRunOptions(
        twin,
        dir,
        'memory-clearing-thinking',
        {},
        {
          tools: withMemoryTool(createDefaultTools()),
          compaction: COMPACTION,
          // The big file's reads enter whole up to the 16,000-character cap (not as a giant
          // output's smaller sample), so 14 turns reach the summary this test is about.
          maxGiantResultChars: 16_000,
          onEvent: (e) => events.push(e),
        },
      ),
    );
    expect(result.outcome).toBe('succeeded');
    // Every request was valid: the twin answers a changed prefix before a thinking block with a 400.
    const calls = twin.requests.filter((r) => r.path === '/v1/messages');
    expect(calls.every((r) => r.status === 200)).toBe(true);

    const context = result.context;
    expect(context?.batches).toBeGreaterThanOrEqual(2);
    expect(context?.summaries).toBeGreaterThanOrEqual(1);
    // Clearing cost thinking: the blocks after each batch's first change were removed (never sent altered).
    expect(context?.thinkingDropped).toBeGreaterThan(0);
    expect(events.filter((e) => e.type === 'compaction' && e.kind === 'clear').length).toBe(context?.batches);

    // A stub says what ran, its exit code and that it can be run again; edits and memory results stay whole.
    const sent = calls.map((r) => bodyOf(r).messages as SentMessage[]);
    const all = sent.flatMap((ms) => ms.flatMap((m) => m.content));
    expect(
      all.some((b) =>
        /^\[cleared: bash \{"command":"cat big\.txt"\} → exit code: 0, [\d,]+ bytes of output; run it again if you need it\]$/.test(
          b.content ?? '',
        ),
      ),
    ).toBe(true);
    for (const ms of sent) {
      const uses = new Map(
        ms
          .flatMap((m) => m.content)
          .flatMap((b) => (b.type === 'tool_use' ? [[b as SentBlock & { id: string }][0]] : []))
          .map((b) => [(b as { id: string }).id, b]),
      );
      for (const b of ms.flatMap((m) => m.content)) {
        if (b.type !== 'tool_result') continue;
        const use = uses.get(b.tool_use_id as string);
        if (
          use?.name === 'memory' ||
          (use?.name === 'str_replace_based_edit_tool' && use.input?.command !== 'view')
        )
          expect(b.content?.startsWith('[cleared:')).toBe(false);
      }
    }

    // Aligned with the cache: a request right after a clear (its history differs from the one before it)
    // still reads the messages before the earlier anchor from the cache, beyond the tools and system.
    const systemPrefix = calls[1]?.usage?.cache_read_input_tokens ?? 0;
    const strip = (r: (typeof calls)[number]) =>
      JSON.stringify(
        (bodyOf(r).messages as SentMessage[])
          .slice(0, 3)
          .map((m) => m.content.map((b) => b.content ?? b.text)),
      );
    const afterEdit = calls.filter(
      (r, i) =>
        i > 1 &&
        bodyOf(r).tool_choice?.type !== 'none' &&
        strip(r) !== strip(calls[i - 1]!) &&
        /\[cleared:/.test(JSON.stringify(bodyOf(r).messages)),
    );
    expect(afterEdit.length).toBeGreaterThan(0);
    expect(afterEdit.some((r) => (r.usage?.cache_read_input_tokens ?? 0) > systemPrefix)).toBe(true);

    // The summary is built around the memory: the first message after it carries the memory, fenced.
    const summaryAt = calls.findLastIndex((r) => bodyOf(r).tool_choice?.type === 'none');
    expect(summaryAt).toBeGreaterThan(0);
    const head = JSON.stringify(bodyOf(calls[summaryAt + 1]).messages[0]);
    expect(head).toContain('<untrusted-data source=\\"session memory\\">');
    expect(head).toContain('greet() must say');
    expect(head).toContain('Change the template literal only');
    expect(head).toContain('<summary>');

    // The memory the run ended with: what the agent wrote, plus the file it edited.
    expect(result.memory?.understanding).toContain('greet() must say');
    expect(result.memory?.filesTouched).toEqual(['greet.js']);
    expect(result.memory?.progress).toEqual(['greet fixed and checked with node']);
    expect(result.memoryBytes).toBeGreaterThan(100);

    // A follow-up run on the same issue starts with it; another issue's run does not see it.
    const log = createSilentLogger();
    expect(await saveTaskMemory(store, [target], result.memory, log)).toBe(result.memoryBytes);
    const carried = await loadTaskMemory(store, target, log);
    const other = await loadTaskMemory(store, { ...target, number: 6 }, log);
    expect(other).toBeUndefined();
    twin.reset();
    twin.setScenario('echo');
    const followUp = await runAgent(
      twinRunOptions(
        twin,
        dir,
        'echo',
        {},
        {
          firstUserMessage: renderTask({ kind: 'local', text: 'Also greet in French.', memory: carried }),
          task: { kind: 'local', text: 'Also greet in French.', memory: carried },
          budgets: { maxTurns: 2, maxCostUsd: 1, maxWallMs: 30_000 },
        },
      ),
    );
    const firstRequest = JSON.stringify(bodyOf(twin.requests[0]).messages[0]);
    expect(firstRequest).toContain('Session memory from earlier runs on this issue or pull request');
    expect(firstRequest).toContain('greet() must say');
    expect(followUp.memory?.understanding).toContain('greet() must say');
  });
});
