import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { SelfReview } from '../../worker/agent/review/run-self-review.js';
import type { AgentRunInput } from '../../worker/session/agent-runner.js';
import { runAgentSession, type SessionEvent } from '../../worker/session/run-agent-session.js';
import type { RepoCache } from '../../worker/workspace/repo-cache.js';
import {
  fixturePackages,
  type LocalRegistry,
  startLocalRegistry,
} from '../fixtures/registry/local-npm-registry.js';
import { removeContainersOf } from '../sandbox/helpers.js';
import { makeTmp } from '../workspace/fixtures.js';
import {
  done,
  environmentService,
  makeNodeRepo,
  registryProvider,
  SANDBOX_IMAGE,
  sessionInput,
  workspaceFor,
} from './environment-helpers.js';

const TOKEN = `npm_${'r3view'.repeat(4)}`;
const usage = { input: 1, output: 1, cacheRead: 0, cacheWrite: 0, costUsd: 0.001 };

/**
 * The reviewer before delivery (issue 18, wired in the session): a changes-requested
 * verdict gets the agent one more round in a new agent container on the same working
 * copy, with setup's result still there (workspace kept, HOME unpacked again), the exec
 * server, and the tool policy's network narrowing; then extract and verify again.
 */
describe('session review round', { timeout: 300_000 }, () => {
  const { provider, workerHostId, docker } = registryProvider();
  let tmp: Awaited<ReturnType<typeof makeTmp>>;
  let registry: LocalRegistry;
  let cache: RepoCache;
  beforeAll(async () => {
    tmp = await makeTmp('pw-session-review-');
    registry = await startLocalRegistry({ token: TOKEN, packages: fixturePackages(5) });
    cache = await makeNodeRepo(tmp.dir, 'widgets', registry, TOKEN);
  });
  afterAll(async () => {
    await removeContainersOf(docker, workerHostId);
    await registry?.close();
    await tmp?.cleanup();
  });

  it('addresses a changes-requested review in a second round and verifies the final change', async () => {
    const rounds: { task: AgentRunInput['task']; saw: string }[] = [];
    const agent = {
      async run({ sandbox, task }: AgentRunInput) {
        const r = await sandbox.exec({
          cmd: 'node check.js && ls ~/.npmrc-home-marker 2>&1; cat NOTES 2>/dev/null; true',
        });
        rounds.push({ task, saw: r.stdout });
        await sandbox.exec({
          cmd: `echo round${rounds.length} >> NOTES && touch ~/.agent-home-${rounds.length}`,
        });
        return { ...done(`round ${rounds.length}`), usage };
      },
      async review(): Promise<SelfReview> {
        return {
          verdict: 'changes-requested',
          summary: 'Missing a second note.',
          findings: [{ severity: 'major', path: 'NOTES', problem: 'Add round 2.' }],
          usage,
          costUsd: 0.001,
          turns: 1,
          durationMs: 5,
        };
      },
    };
    const events: SessionEvent[] = [];
    const input = sessionInput(await workspaceFor(tmp.dir, cache), registry, {
      onEvent: (e) => events.push(e),
    });
    const result = await runAgentSession(
      {
        sandboxes: provider,
        image: SANDBOX_IMAGE,
        agent,
        environment: environmentService({
          dir: join(tmp.dir, 'snaps'),
          secretsYaml: `- repos: ["acme/*"]\n  env:\n    NPM_TOKEN: "${TOKEN}"\n`,
        }),
        // The operator denies the registry to the agent: the agent's network loses it.
        operatorPolicy: {
          shell: { allow: [], deny: [] },
          write: { allow: [], deny: [] },
          network: { allow: [], deny: [`${registry.host}:${registry.port}`] },
          tools: { allow: [], deny: [] },
        },
      },
      {
        ...input,
        repoConfig: {
          ...input.repoConfig,
          setupCommand: `${input.repoConfig.setupCommand} && touch ~/.npmrc-home-marker`,
          network: { ...input.repoConfig.network, agent: input.repoConfig.network.setup },
          review: { resolveThreads: true, selfReview: true },
        },
        limits: { maxTurns: 10, maxCostUsd: 1, maxWallMs: 600_000 },
      },
    );
    expect(rounds).toHaveLength(2);
    // Both rounds had setup's workspace and HOME; the second saw the first round's work.
    expect(rounds[0]?.saw).toContain('deps ok');
    expect(rounds[0]?.saw).toContain('.npmrc-home-marker');
    expect(rounds[1]?.saw).toContain('.npmrc-home-marker');
    expect(rounds[1]?.saw).toContain('round1');
    expect(JSON.stringify(rounds[1]?.task)).toContain('Add round 2.');
    expect(result.review).toMatchObject({ verdict: 'changes-requested', addressed: true });
    expect(result.patch.patch).toContain('+round2');
    expect(result.verify.map((v) => v.ok)).toEqual([true]);
    expect(result.agent.turns).toBe(2);
    expect(events.some((e) => e.type === 'review')).toBe(true);
  });
});
