import { readdir, readFile } from 'node:fs/promises';
import { join } from 'node:path';
import { afterAll, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import { runAgent } from '../../../worker/agent/loop/run-agent.js';
import { guardTools } from '../../../worker/agent/permissions/guard-tools.js';
import {
  OPEN_POLICY,
  PermissionRules,
  resolveToolPolicy,
} from '../../../worker/agent/permissions/tool-policy.js';
import { createDelegateTool } from '../../../worker/agent/subagents/delegate-tool.js';
import { SUBAGENT_SYSTEM_PROMPT } from '../../../worker/agent/subagents/subagent-prompt.js';
import type { AgentEvent, Tool } from '../../../worker/agent/tool.js';
import type { HarnessEvent } from '../../../worker/agent/tools/harness-events.js';
import { createDefaultTools } from '../../../worker/agent/tools/index.js';
import { type ModelTwin, startModelTwin } from '../../twins/model/index.js';
import { DENIED_COMMAND, harnessToolsScenario } from '../../twins/model/scenarios/harness-tools.js';
import { twinRunOptions } from '../loop/twin-run.js';

const WIDE = { maxTurns: 40, maxCostUsd: 5, maxWallMs: 380_000 };

interface Body {
  system?: unknown;
  tools?: { name: string }[];
  messages: unknown[];
}
const body = (r: { body?: unknown }) => r.body as Body;

import { type DockerRepo, startDockerRepo } from './docker-repo.js';

/**
 * Subagents through the real loop, the real SDK over HTTP and the real tools in a real
 * Docker sandbox, against the model twin's `harness-tools` scenario.
 */
describe('delegate: subagents against the model twin', { timeout: 400_000 }, () => {
  let twin: ModelTwin;
  let repo: DockerRepo;
  let dir: string;

  beforeAll(async () => {
    twin = await startModelTwin({ scenario: harnessToolsScenario });
  });
  afterAll(async () => {
    await twin.close();
  });
  beforeEach(async () => {
    twin.reset();
    repo = await startDockerRepo();
    dir = repo.scratch;
    return async () => {
      await repo.dispose();
    };
  });

  it('runs two subagents from one response, returns only their reports, counts their cost, and a denied push', async () => {
    const events: (AgentEvent | HarnessEvent)[] = [];
    // A generous wall budget: the machine may be shared (each `npm test` in a container can take seconds).
    const base = {
      ...twinRunOptions(twin, dir, 'harness-tools', { timeoutMs: 120_000 }),
      sandbox: repo.sandbox,
      budgets: WIDE,
    };
    const policy = resolveToolPolicy(PermissionRules.parse({ shell: { deny: ['git push'] } }), undefined);
    const onEvent = (e: HarnessEvent) => events.push(e);
    const delegate = createDelegateTool({
      model: base.model,
      policy,
      shell: false,
      transcriptPath: base.transcriptPath,
      secrets: [twin.apiKey],
      log: base.log,
      onEvent,
    });
    const tools: Tool[] = guardTools([...createDefaultTools(), delegate as Tool], policy, onEvent);
    const result = await runAgent({ ...base, tools, onEvent: (e) => events.push(e) });
    expect(result.outcome).toBe('succeeded');

    // Two subagents ran, each in its own conversation with the fixed subagent system prompt.
    const subEvents = events.filter(
      (e): e is Extract<HarnessEvent, { type: 'subagent' }> => e.type === 'subagent',
    );
    expect(subEvents.map((e) => e.id).sort()).toEqual([1, 2]);
    for (const e of subEvents) {
      expect(e.outcome).toBe('succeeded');
      expect(e.turns).toBe(3);
      expect(e.costUsd).toBeGreaterThan(0);
    }
    const subRequests = twin.requests.filter((r) =>
      JSON.stringify(body(r).system ?? '').includes('read-only research subagent'),
    );
    expect(subRequests).toHaveLength(6);
    // Depth one and read-only: no delegate, no edit, no bash among a subagent's tools.
    for (const r of subRequests)
      expect((body(r).tools ?? []).map((t) => t.name)).toEqual(['view', 'search', 'list_files', 'finish']);
    // Only the reports entered the main context: no subagent's search output is in a main request.
    const mainRequests = twin.requests.filter((r) => !subRequests.includes(r));
    const lastMain = JSON.stringify(body(mainRequests.at(-1) ?? {}).messages);
    expect(lastMain).toContain('Subagent 1 report (3 turns)');
    expect(lastMain).toContain('add and average are defined in src/math.js (src/math.js:4, src/math.js:9)');
    expect(lastMain).not.toContain(SUBAGENT_SYSTEM_PROMPT.slice(0, 60));
    // What the subagents searched and viewed stays in their contexts.
    expect(lastMain).not.toContain('"name":"search"');
    expect(lastMain).not.toContain("require('../src/index.js')"); // subagent 2 viewed test/math.test.js

    // Prompt caching holds for subagents: stable tools + system, later requests read the cache.
    const subCacheReads = subRequests.map((r) => r.usage?.cache_read_input_tokens ?? 0);
    expect(subCacheReads.filter((n) => n > 0).length).toBeGreaterThanOrEqual(4);

    // Their cost counts toward the run: the run's usage includes every twin request.
    const twinCache = twin.usage.cacheReadInputTokens;
    expect(result.usage.cacheRead).toBe(twinCache);
    expect(result.usage.input).toBe(twin.usage.inputTokens);
    const subCost = subEvents.reduce((s, e) => s + e.costUsd, 0);
    expect(result.usage.costUsd).toBeGreaterThan(subCost);

    // The denied command never ran, came back as a clear error, and was recorded.
    const denied = events.filter((e) => e.type === 'permission-denied');
    expect(denied).toEqual([
      expect.objectContaining({
        tool: 'bash',
        kind: 'shell',
        source: 'operator',
        rule: 'git push',
        subject: DENIED_COMMAND,
      }),
    ]);
    expect(result.summary).toContain(
      'denied: Permission denied by the operator\'s tool policy: command "git push origin HEAD:main"',
    );

    // Each subagent has its own transcript beside the main one.
    const files = (await readdir(join(dir, '.transcript'))).sort();
    expect(files).toEqual(['run.jsonl', 'run.subagent-1.jsonl', 'run.subagent-2.jsonl']);
    const sub1 = await readFile(join(dir, '.transcript', 'run.subagent-1.jsonl'), 'utf8');
    expect(sub1).not.toContain(twin.apiKey);
    // The main transcript records each delegate call with its usage.
    const main = (await readFile(join(dir, '.transcript', 'run.jsonl'), 'utf8'))
      .trim()
      .split('\n')
      .map((l) => JSON.parse(l));
    const delegateLines = main.filter((l) => l.type === 'tool' && l.name === 'delegate');
    expect(delegateLines).toHaveLength(2);
    for (const l of delegateLines) expect(l.usage?.output ?? 0).toBeGreaterThan(0);

    // eslint-style record for the note: what each subagent cost in this scenario.
    console.log(
      'subagent costs',
      subEvents.map((e) => ({ id: e.id, turns: e.turns, costUsd: e.costUsd, ...e.usage })),
    );
  });

  it('runs the delegate calls of one response concurrently', async () => {
    // Each subagent request is delayed 300 ms by the twin; two subagents of 3 turns each take
    // about 1.8 s one after the other and about 0.9 s together.
    // A generous wall budget: the machine may be shared (each `npm test` in a container can take seconds).
    const base = {
      ...twinRunOptions(twin, dir, 'harness-tools', { timeoutMs: 120_000 }),
      sandbox: repo.sandbox,
      budgets: WIDE,
    };
    const delegate = createDelegateTool({
      model: base.model,
      policy: OPEN_POLICY,
      shell: false,
      transcriptPath: base.transcriptPath,
      secrets: [],
      log: base.log,
    });
    const starts: number[] = [];
    const ends: number[] = [];
    const timed: Tool = {
      ...(delegate as Tool),
      run: async (input, ctx) => {
        starts.push(Date.now());
        try {
          return await delegate.run(input as never, ctx);
        } finally {
          ends.push(Date.now());
        }
      },
    };
    Object.assign(timed, { concurrent: true });
    const result = await runAgent({ ...base, tools: [...createDefaultTools(), timed] });
    expect(result.outcome).toBe('succeeded');
    expect(starts).toHaveLength(2);
    // The second started before the first ended.
    expect(Math.max(...starts)).toBeLessThan(Math.min(...ends));
  });
});

describe('the subagent prefix', () => {
  it('is long enough to be cached: tools + system above the 1,024-token minimum (estimated at 4 chars per token)', async () => {
    const { createReadOnlyTools } = await import('../../../worker/agent/subagents/read-only-tools.js');
    const est = (s: string) => Math.ceil(s.length / 4);
    for (const shell of [false, true]) {
      const tools = createReadOnlyTools({ caps: { maxBytes: 1, maxLines: 1 }, shell, policy: OPEN_POLICY });
      const toolTokens = tools.reduce(
        (n, t) => n + 8 + est(t.name) + est(t.description) + est(JSON.stringify(t.inputJsonSchema)),
        0,
      );
      expect(toolTokens + est(SUBAGENT_SYSTEM_PROMPT)).toBeGreaterThan(1_100);
    }
  });
});

describe('the read-only shell (SUBAGENT_SHELL) in a real sandbox', { timeout: 300_000 }, () => {
  it('reads, and refuses to write, on the parsed command', async () => {
    const repo = await startDockerRepo();
    try {
      const { createReadOnlyTools } = await import('../../../worker/agent/subagents/read-only-tools.js');
      const { createSilentLogger } = await import('../../../src/logger.js');
      const tools = createReadOnlyTools({
        caps: { maxBytes: 4000, maxLines: 100 },
        shell: true,
        policy: OPEN_POLICY,
      });
      const bash = tools.find((t) => t.name === 'bash') as Tool;
      const ctx = { sandbox: repo.sandbox, signal: new AbortController().signal, log: createSilentLogger() };
      const read = await bash.run(
        { command: 'grep -n "function" src/math.js | head -n 2 && git log --oneline' },
        ctx,
      );
      expect(read.isError).toBe(false);
      expect(read.content).toContain('4:function add(a, b) {');
      for (const command of [
        'touch x',
        'echo hi > README.md',
        "sed -i 's/a/b/' src/math.js",
        'git checkout -- .',
        'find . -name "*.js" -delete',
      ]) {
        const r = await bash.run({ command }, ctx);
        expect(r.isError).toBe(true);
        expect(r.content).toMatch(/^Permission denied/);
      }
      const status = await repo.sandbox.exec({ cmd: 'git -c safe.directory=* status --porcelain' });
      expect(status.stdout.trim()).toBe('');
    } finally {
      await repo.dispose();
    }
  });
});
