import { chown, mkdir, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createSilentLogger } from '../../src/logger.js';
import { DockerSandboxProvider } from '../../worker/sandbox/docker-sandbox-provider.js';
import type { ExecResult } from '../../worker/sandbox/sandbox.js';
import { withBasePolicy } from '../../worker/sandbox/with-base-policy.js';
import type { AgentRunInput } from '../../worker/session/agent-runner.js';
import { createFreshCopier } from '../../worker/session/fresh-copy.js';
import {
  runAgentSession,
  type SessionWorkspace,
  startAgentSandbox,
} from '../../worker/session/run-agent-session.js';
import { extractPatch } from '../../worker/workspace/patch.js';
import type { RepoCache } from '../../worker/workspace/repo-cache.js';
import { createWorkingCopy } from '../../worker/workspace/working-copy.js';
import {
  fixturePackages,
  type LocalRegistry,
  startLocalRegistry,
} from '../fixtures/registry/local-npm-registry.js';
import { removeContainersOf } from '../sandbox/helpers.js';
import { makeTmp } from '../workspace/fixtures.js';
import {
  containerExists,
  done,
  environmentService,
  makeNodeRepo,
  registryProvider,
  SANDBOX_IMAGE,
  sessionInput,
  workspaceFor,
} from './environment-helpers.js';

const TOKEN = `npm_${'e4rlyT0ken'.repeat(3)}`;
const SECRETS = `- repos: ["acme/*"]\n  env:\n    NPM_TOKEN: "${TOKEN}"\n`;
const MiB = 1024 * 1024;

/**
 * Issue 17, the agent's container started while its working copy is still being
 * written (`startAgentSandbox` → `earlySandbox`): the session uses that container,
 * unpacks the snapshot into it, measures the disk bound from the finished tree, and
 * removes it whatever happens.
 */
describe('early agent container', { timeout: 300_000 }, () => {
  const { provider, workerHostId, docker } = registryProvider();
  let tmp: Awaited<ReturnType<typeof makeTmp>>;
  let registry: LocalRegistry;
  let cache: RepoCache;
  let runs = 0;

  beforeAll(async () => {
    tmp = await makeTmp('pw-env-early-');
    registry = await startLocalRegistry({ token: TOKEN, packages: fixturePackages(120) });
    cache = await makeNodeRepo(tmp.dir, 'widgets', registry, TOKEN);
  });
  afterAll(async () => {
    await removeContainersOf(docker, workerHostId);
    await registry?.close();
    await tmp?.cleanup();
  });

  /** An empty run folder, as the worker makes it before fetching. */
  const emptyWorkDir = async () => {
    runs += 1;
    const parentDir = join(tmp.dir, `early-${runs}`);
    const workDir = join(parentDir, 'work');
    await mkdir(workDir, { recursive: true });
    return { parentDir, workDir };
  };
  const exists = (id: string) => containerExists(docker, id);

  it('the checkout lands in the started container; the session restores into it and removes it', async () => {
    const environment = environmentService({ dir: join(tmp.dir, 'snapshots'), secretsYaml: SECRETS });
    const agentSaw: { id: string; check: ExecResult; parent: string }[] = [];
    const agent = {
      async run({ sandbox }: AgentRunInput) {
        const check = await sandbox.exec({ cmd: 'node check.js' });
        const parent = (await sandbox.exec({ cmd: 'ps -o comm= -p $PPID' })).stdout.trim();
        agentSaw.push({ id: sandbox.id, check, parent });
        return done();
      },
    };
    const deps = { sandboxes: provider, image: SANDBOX_IMAGE, agent, environment };
    // Run 1 sets up and keeps the snapshot.
    const first = await runAgentSession(deps, sessionInput(await workspaceFor(tmp.dir, cache), registry));
    expect(first.environment).toMatchObject({ source: 'setup', snapshot: 'saved' });

    const { parentDir, workDir } = await emptyWorkDir();
    const input0 = sessionInput(await workspaceFor(tmp.dir, cache), registry);
    const early = startAgentSandbox(deps, { workDir, repoConfig: input0.repoConfig, labels: input0.labels });
    // The checkout is written while the container starts.
    const copy = await createWorkingCopy({ cache, ref: 'main', dir: workDir });
    const workspace: SessionWorkspace = {
      workDir,
      baseSha: copy.baseSha,
      extractPatch: () => extractPatch({ workDir, baseSha: copy.baseSha, cache }),
      freshCopy: createFreshCopier({ cache, baseSha: copy.baseSha, parentDir }),
    };
    const earlyId = (await early.sandbox).id;
    const result = await runAgentSession(deps, { ...sessionInput(workspace, registry), earlySandbox: early });
    expect(result.environment).toMatchObject({ source: 'snapshot' });
    expect(agentSaw.at(-1)?.id).toBe(earlyId);
    // Setup's packages and the checkout's files are both there, and tool calls use the exec server.
    expect(agentSaw.at(-1)?.check).toMatchObject({ exitCode: 0, stdout: 'deps ok\n' });
    expect(agentSaw.at(-1)?.parent).toBe('pw-exec-server');
    expect(result.verify.map((v) => v.ok)).toEqual([true]);
    expect(await exists(earlyId)).toBe(false);
  });

  it('a session that stops before the agent removes the early container', async () => {
    const { workDir } = await emptyWorkDir();
    const input0 = sessionInput(await workspaceFor(tmp.dir, cache), registry);
    const deps = { sandboxes: provider, image: SANDBOX_IMAGE, agent: { run: async () => done() } };
    const early = startAgentSandbox(deps, { workDir, repoConfig: input0.repoConfig, labels: input0.labels });
    const id = (await early.sandbox).id;
    const ac = new AbortController();
    ac.abort();
    await expect(
      runAgentSession(deps, {
        ...input0,
        workspace: { ...input0.workspace, workDir },
        signal: ac.signal,
        earlySandbox: early,
      }),
    ).rejects.toMatchObject({ code: 'cancelled' });
    expect(await exists(id)).toBe(false);
  });

  it('what the host wrote before the agent is not growth; the agent is still bounded', async () => {
    const small = withBasePolicy(
      new DockerSandboxProvider({
        workerHostId,
        docker,
        diskCheckIntervalMs: 200,
        log: createSilentLogger(),
      }),
      { workspaceBytes: 20 * MiB },
    );
    const { workDir } = await emptyWorkDir();
    const early = startAgentSandbox(
      { sandboxes: small, image: SANDBOX_IMAGE },
      { workDir, repoConfig: { network: { agent: { mode: 'none' } } }, labels: {} },
    );
    await early.sandbox;
    // A 30 MiB "checkout" written after the container started (more than the bound).
    await writeFile(join(workDir, 'big-checkout.bin'), Buffer.alloc(30 * MiB, 1));
    await chown(workDir, 1000, 1000);
    await chown(join(workDir, 'big-checkout.bin'), 1000, 1000);
    const results: ExecResult[] = [];
    const agent = {
      async run({ sandbox }: AgentRunInput) {
        // Long enough for the watchdog to measure while it runs.
        results.push(await sandbox.exec({ cmd: 'head -c 1048576 /dev/zero > small.bin; sleep 1' }));
        results.push(
          await sandbox.exec({
            cmd: 'for i in $(seq 1 80); do head -c 1048576 /dev/zero >> grow.bin; sleep 0.05; done',
            timeoutMs: 60_000,
          }),
        );
        return done();
      },
    };
    const input0 = sessionInput(await workspaceFor(tmp.dir, cache), registry);
    await runAgentSession(
      { sandboxes: small, image: SANDBOX_IMAGE, agent },
      {
        ...input0,
        repoConfig: { ...input0.repoConfig, setupCommand: null, verifyCommands: [] },
        workspace: {
          workDir,
          baseSha: 'none',
          extractPatch: async () => ({
            patch: '',
            paths: [],
            stats: { files: 0, additions: 0, deletions: 0, bytes: 0 },
          }),
        },
        earlySandbox: early,
      },
    );
    expect(results[0]).toMatchObject({ exitCode: 0 });
    expect(results[0]?.diskLimitExceeded).toBeFalsy();
    expect(results[1]).toMatchObject({ diskLimitExceeded: true, exitCode: null });
  });
});
