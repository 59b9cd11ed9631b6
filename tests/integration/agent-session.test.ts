import { execFileSync } from 'node:child_process';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createSilentLogger } from '../../src/logger.js';
import type { AgentResult } from '../../worker/agent/loop/run-agent.js';
import { HOST_LABEL } from '../../worker/sandbox/docker-sandbox-provider.js';
import type { AgentRunInput } from '../../worker/session/agent-runner.js';
import { PhaseTimings } from '../../worker/session/phase-timings.js';
import { runAgentSession, type SessionWorkspace } from '../../worker/session/run-agent-session.js';
import { extractPatch } from '../../worker/workspace/patch.js';
import { createWorkingCopy } from '../../worker/workspace/working-copy.js';
import { removeContainersOf, SANDBOX_IMAGE, testProvider } from '../sandbox/helpers.js';
import { git, makeOriginRepo, makeTmp } from '../workspace/fixtures.js';

const labelsOf = (containerId: string): Record<string, string> =>
  JSON.parse(
    execFileSync('docker', ['inspect', '--format', '{{json .Config.Labels}}', containerId], {
      encoding: 'utf8',
    }),
  ) as Record<string, string>;

const done = (overrides: Partial<AgentResult> = {}): AgentResult => ({
  outcome: 'succeeded',
  summary: 'done',
  usage: { input: 1, output: 1, cacheRead: 0, cacheWrite: 0, costUsd: 0 },
  turns: 1,
  durationMs: 1,
  plan: [],
  ...overrides,
});

/** The one agent session with real Docker and real git; the agent is scripted. */
describe('runAgentSession in real sandboxes', { timeout: 120_000 }, () => {
  const { provider, workerHostId, docker } = testProvider();
  let tmp: Awaited<ReturnType<typeof makeTmp>>;
  let workspace: SessionWorkspace;

  beforeAll(async () => {
    tmp = await makeTmp('pw-session-');
    const { bare } = makeOriginRepo(tmp.dir, 'o', 'r');
    const cache = { dir: join(tmp.dir, 'cache.git'), remoteUrl: `file://${bare}` };
    git(tmp.dir, ['clone', '--bare', '--quiet', bare, cache.dir]);
    const copy = await createWorkingCopy({ cache, ref: 'main', dir: join(tmp.dir, 'work') });
    workspace = {
      workDir: copy.dir,
      baseSha: copy.baseSha,
      extractPatch: () => extractPatch({ workDir: copy.dir, baseSha: copy.baseSha, cache }),
    };
  });

  afterAll(async () => {
    await removeContainersOf(docker, workerHostId);
    await tmp?.cleanup();
  });

  it('runs setup, the agent and verify in containers labelled by the provider, and returns the patch', async () => {
    const seen: Record<string, string>[] = [];
    const events: string[] = [];
    const timings = new PhaseTimings();
    const result = await runAgentSession(
      {
        sandboxes: {
          create: async (policy, path) => {
            const box = await provider.create(policy, path);
            seen.push(labelsOf(box.id));
            return box;
          },
        },
        image: SANDBOX_IMAGE,
        agent: {
          async run(input: AgentRunInput) {
            await input.sandbox.writeFile('NOTES.md', 'noted\n');
            expect(await input.hasChanges?.()).toBe(true);
            return done();
          },
        },
      },
      {
        workspace,
        task: { kind: 'local', text: 'write a note' },
        repoConfig: {
          setupCommand: 'echo set up > .setup-done && exit 3',
          verifyCommands: ['cat NOTES.md', 'echo secret-value-123 >&2; exit 1'],
          network: { setup: { mode: 'none' }, agent: { mode: 'none' } },
          limits: { maxTurns: 5, maxCostUsd: 1, maxWallMs: 60_000 },
        },
        labels: { 'dev.pullwright.job': 'session-test' },
        signal: new AbortController().signal,
        log: createSilentLogger(),
        transcriptPath: join(tmp.dir, 'transcript.jsonl'),
        secrets: ['secret-value-123'],
        onEvent: (e) => events.push(e.type === 'phase' ? e.phase : e.type),
        timings,
      },
    );
    // Bug 6: the host label is the provider's own; the flow's labels ride along with it.
    expect(seen).toHaveLength(2);
    for (const labels of seen) {
      expect(labels[HOST_LABEL]).toBe(workerHostId);
      expect(labels['dev.pullwright.job']).toBe('session-test');
    }
    expect(result.setup).toMatchObject({ exitCode: 3, ok: false });
    expect(result.verify.map((v) => [v.command, v.exitCode, v.ok])).toEqual([
      ['cat NOTES.md', 0, true],
      ['echo secret-value-123 >&2; exit 1', 1, false],
    ]);
    expect(result.verify[0]?.outputTail).toBe('noted\n');
    expect(result.verify[1]?.outputTail).not.toContain('secret-value-123');
    expect(result.patch.paths).toContain('NOTES.md');
    expect(result.patch.paths).toContain('.setup-done');
    expect(result.blockedHosts).toEqual([]);
    expect(events).toEqual(['setup', 'setup-failed', 'sandbox', 'agent', 'verify']);
    expect(Object.keys(timings.summary().phases)).toEqual(['setup', 'sandbox', 'agent', 'verify', 'extract']);
    // Both containers are gone once the session returns.
    const left = execFileSync('docker', ['ps', '-aq', '--filter', `label=${HOST_LABEL}=${workerHostId}`], {
      encoding: 'utf8',
    });
    expect(left.trim()).toBe('');
  });

  it('delivers nothing of a cancelled agent run and skips verify', async () => {
    const result = await runAgentSession(
      {
        sandboxes: provider,
        image: SANDBOX_IMAGE,
        agent: {
          async run(input: AgentRunInput) {
            await input.sandbox.writeFile('HALF.md', 'half\n');
            return done({ outcome: 'cancelled' });
          },
        },
      },
      {
        workspace,
        task: { kind: 'local', text: 'x' },
        repoConfig: {
          setupCommand: null,
          verifyCommands: ['true'],
          network: { setup: { mode: 'none' }, agent: { mode: 'none' } },
          limits: { maxTurns: 5, maxCostUsd: 1, maxWallMs: 60_000 },
        },
        labels: {},
        signal: new AbortController().signal,
        log: createSilentLogger(),
        transcriptPath: join(tmp.dir, 'transcript2.jsonl'),
      },
    );
    expect(result.agent.outcome).toBe('cancelled');
    expect(result.verify).toEqual([]);
    expect(result.patch.patch).toBe('');
  });
});
