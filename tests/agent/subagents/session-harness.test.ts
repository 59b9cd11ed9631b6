import { execFileSync } from 'node:child_process';
import { readdir } from 'node:fs/promises';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createSilentLogger } from '../../../src/logger.js';
import { McpOperatorConfig } from '../../../worker/agent/mcp/mcp-operator-config.js';
import { PermissionRules } from '../../../worker/agent/permissions/tool-policy.js';
import type { AgentHarness } from '../../../worker/agent/tools/create-run-tools.js';
import type { HarnessEvent } from '../../../worker/agent/tools/harness-events.js';
import { createAgentRunner } from '../../../worker/session/agent-runner.js';
import { createFreshCopier } from '../../../worker/session/fresh-copy.js';
import {
  runAgentSession,
  type SessionEvent,
  type SessionWorkspace,
} from '../../../worker/session/run-agent-session.js';
import { extractPatch } from '../../../worker/workspace/patch.js';
import { createWorkingCopy } from '../../../worker/workspace/working-copy.js';
import { bundleDocsServer } from '../../fixtures/mcp/bundle-fixture.js';
import { removeContainersOf, SANDBOX_IMAGE, testProvider } from '../../sandbox/helpers.js';
import { type ModelTwin, startModelTwin, writeFixFailingTestRepo } from '../../twins/model/index.js';
import { DENIED_COMMAND, harnessToolsScenario } from '../../twins/model/scenarios/harness-tools.js';
import { git, makeTmp } from '../../workspace/fixtures.js';
import { twinRunOptions } from '../loop/twin-run.js';

/**
 * Issue 18 end to end through the agent session: the real session, Docker sandboxes, tools,
 * loop and SDK against the model twin. One run asks two subagents in parallel, is refused a
 * `git push` by the operator's policy, calls the repository's MCP server (started inside the
 * agent container), fixes one of two bugs and finishes; the reviewer (task + diff + verify
 * only) finds the remaining failure; the agent's one review round fixes it; verify passes.
 * The runner is the worker's own (`createAgentRunner` with the operator's harness).
 */
describe('the harness through the agent session', { timeout: 600_000 }, () => {
  const { provider, workerHostId, docker } = testProvider();
  let tmp: Awaited<ReturnType<typeof makeTmp>>;
  let twin: ModelTwin;
  let workspace: SessionWorkspace;

  beforeAll(async () => {
    twin = await startModelTwin({ scenario: harnessToolsScenario });
    tmp = await makeTmp('pw-harness-session-');
    const scratch = join(tmp.dir, 'scratch');
    execFileSync('mkdir', ['-p', scratch]);
    git(scratch, ['init', '--quiet']);
    await writeFixFailingTestRepo(scratch);
    // The repository ships its MCP server (one bundled file, as `node tools/mcp-docs.cjs`).
    await bundleDocsServer(scratch);
    git(scratch, ['add', '-A']);
    git(scratch, ['-c', 'user.name=t', '-c', 'user.email=t@t', 'commit', '--quiet', '-m', 'initial']);
    const cache = { dir: join(tmp.dir, 'repo.git'), remoteUrl: 'file:///nowhere.git' };
    git(tmp.dir, ['clone', '--bare', '--quiet', scratch, cache.dir]);
    const parentDir = join(tmp.dir, 'run');
    const copy = await createWorkingCopy({ cache, ref: 'main', dir: join(parentDir, 'work') });
    workspace = {
      workDir: copy.dir,
      baseSha: copy.baseSha,
      extractPatch: () => extractPatch({ workDir: copy.dir, baseSha: copy.baseSha, cache }),
      freshCopy: createFreshCopier({ cache, baseSha: copy.baseSha, parentDir }),
    };
  });
  afterAll(async () => {
    await removeContainersOf(docker, workerHostId);
    await twin?.close();
    await tmp?.cleanup();
  });

  it('subagents, a denied command, an MCP tool, then a review round that fixes what verify caught', async () => {
    const model = twinRunOptions(twin, tmp.dir, 'harness-tools').model;
    const harness: AgentHarness = {
      policy: PermissionRules.parse({ shell: { deny: ['git push'] } }),
      mcp: McpOperatorConfig.parse({ stdio: { allow: true, commands: ['node'] } }),
      subagentShell: false,
    };
    const secrets = [twin.apiKey];
    const runner = createAgentRunner({ model, secrets, harness });
    const events: SessionEvent[] = [];
    const transcriptPath = join(tmp.dir, 'transcripts', 'run.jsonl');
    const result = await runAgentSession(
      {
        sandboxes: provider,
        image: SANDBOX_IMAGE,
        agent: runner,
        operatorPolicy: harness.policy,
        execServer: false,
      },
      {
        workspace,
        task: {
          kind: 'local',
          text: 'Fix the failing tests. Leave the average bug in (for the reviewer to find).',
        },
        repoConfig: {
          setupCommand: null,
          verifyCommands: ['npm test'],
          network: { setup: { mode: 'none' }, agent: { mode: 'none' } },
          limits: { maxTurns: 40, maxCostUsd: 5, maxWallMs: 500_000 },
          permissions: {
            shell: { allow: [], deny: [] },
            write: { allow: [], deny: ['.github/**'] },
            network: { allow: [], deny: [] },
            tools: { allow: [], deny: [] },
          },
          mcp: { servers: [{ name: 'docs', command: 'node', args: ['tools/mcp-docs.cjs'] }] },
          review: { resolveThreads: true, selfReview: true },
        },
        labels: { 'dev.pullwright.job': 'harness-session-test' },
        signal: new AbortController().signal,
        log: createSilentLogger(),
        transcriptPath,
        secrets,
        onEvent: (e) => events.push(e),
      },
    );
    const harnessEvents = events as HarnessEvent[];
    // Two subagents ran (in the first round) and their cost is part of the run's.
    const subagents = harnessEvents.filter((e) => e.type === 'subagent');
    expect(subagents).toHaveLength(2);
    // The operator's policy refused the push; both layers were published for the run record.
    expect(
      harnessEvents
        .filter((e) => e.type === 'permission-denied')
        .map((e) => e.type === 'permission-denied' && e.subject),
    ).toEqual([DENIED_COMMAND]);
    expect(JSON.stringify(harnessEvents.find((e) => e.type === 'tool-policy'))).toContain('"source":"repo"');
    // The repository's MCP server started inside the agent container, in both rounds.
    expect(
      harnessEvents.filter((e) => e.type === 'mcp-server').map((e) => e.type === 'mcp-server' && e.status),
    ).toEqual(['started', 'started']);
    // The reviewer caught the failing verify, the round fixed it, verify passes on the final change.
    expect(result.review).toMatchObject({ verdict: 'changes-requested', addressed: true });
    expect(result.verify.map((v) => [v.command, v.ok])).toEqual([['npm test', true]]);
    expect(result.patch.paths).toEqual(['src/math.js']);
    expect(result.patch.patch).toContain('+  return a + b;');
    expect(result.patch.patch).toContain('+  return total / values.length;');
    // Every cost counts: main rounds, subagents and the review.
    const subCost = subagents.reduce((s, e) => s + (e.type === 'subagent' ? e.costUsd : 0), 0);
    expect(result.agent.usage.costUsd).toBeGreaterThan(subCost + (result.review?.costUsd ?? 0));
    // Transcripts: main, both subagents, the review and the review round, side by side.
    expect((await readdir(join(tmp.dir, 'transcripts'))).sort()).toEqual([
      'run.jsonl',
      'run.review-round.jsonl',
      'run.review.jsonl',
      'run.subagent-1.jsonl',
      'run.subagent-2.jsonl',
    ]);
    // Nothing of the MCP server run leaks into the change (it ran in the sandbox, wrote nothing).
    expect(result.patch.patch).not.toContain('mcp-docs');
  });
});
