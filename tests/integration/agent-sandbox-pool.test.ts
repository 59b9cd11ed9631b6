import { existsSync, mkdtempSync, readdirSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { RepoRef } from '../../src/domain/task.js';
import { createOctokitGitHubForWorker } from '../../src/github/octokit-github-for-worker.js';
import { createSilentLogger } from '../../src/logger.js';
import { type AgentSandboxPool, createAgentSandboxPool } from '../../worker/flows/agent-sandbox-pool.js';
import { createGitWorkspaces } from '../../worker/flows/git-workspaces.js';
import type { WorkspacePort } from '../../worker/flows/ports.js';
import type { Sandbox } from '../../worker/sandbox/sandbox.js';
import { HOST_LABEL, JOB_LABEL, POOL_LABEL } from '../../worker/sandbox/sandbox-labels.js';
import { withBasePolicy } from '../../worker/sandbox/with-base-policy.js';
import type { AgentRunInput } from '../../worker/session/agent-runner.js';
import { runAgentSession } from '../../worker/session/run-agent-session.js';
import { removeContainersOf, SANDBOX_IMAGE, testProvider } from '../sandbox/helpers.js';
import { startGitHubTwin } from '../twins/github/index.js';
import type { GitHubTwin } from '../twins/github/types.js';
import { containerExists, done } from './environment-helpers.js';

/**
 * Issue 17: agent containers started ahead of any run (worker/flows/agent-sandbox-pool.ts).
 * Real Docker, real git against the GitHub twin: a run takes a started container on an
 * empty run folder, the checkout lands in it, the session runs in it and removes it; a
 * container is never handed out twice or for another network policy; idle ones and all
 * waiting ones at shutdown are removed with their folders.
 */
describe('agent sandbox pool', { timeout: 180_000 }, () => {
  const { provider, docker, workerHostId } = testProvider();
  const INSTANCE = 'dev.pullwright.instance';
  const sandboxes = withBasePolicy(provider, { labels: { [INSTANCE]: 'pool-test' } });
  const none = { mode: 'none' as const };
  let twin: GitHubTwin;
  let installationId: number;
  let work: string;
  let workspaces: WorkspacePort;
  const pools: AgentSandboxPool[] = [];
  const repo: RepoRef = { owner: 'acme', name: 'widgets' };

  beforeAll(async () => {
    twin = await startGitHubTwin();
    await twin.seed.repo({ owner: 'acme', name: 'widgets', files: { 'README.md': '# widgets\n' } });
    installationId = twin.seed.installation({ account: 'acme' }).id;
    work = mkdtempSync(join(tmpdir(), 'pw-pool-'));
    workspaces = createGitWorkspaces({
      cacheDir: join(work, 'cache'),
      runsDir: join(work, 'runs'),
      gitBaseUrl: twin.url,
    });
  });
  afterAll(async () => {
    for (const pool of pools) await pool.close();
    await removeContainersOf(docker, workerHostId);
    await twin?.close();
    rmSync(work, { recursive: true, force: true });
  });

  const token = async () =>
    (
      await createOctokitGitHubForWorker({
        appId: twin.app.id,
        privateKey: twin.app.privateKey,
        baseUrl: twin.url,
        log: createSilentLogger(),
      }).forRepo(installationId, repo)
    ).token;
  const newPool = (extra: Partial<Parameters<typeof createAgentSandboxPool>[0]> = {}) => {
    const pool = createAgentSandboxPool({
      session: { sandboxes, image: SANDBOX_IMAGE },
      newRunFolder: () => (workspaces.newRunFolder as NonNullable<WorkspacePort['newRunFolder']>)(),
      size: 1,
      refillDelayMs: 0,
      ...extra,
    });
    pools.push(pool);
    return pool;
  };
  const until = async (check: () => boolean | Promise<boolean>, ms = 60_000) => {
    const deadline = Date.now() + ms;
    while (!(await check())) {
      if (Date.now() > deadline) throw new Error('timed out waiting');
      await new Promise((r) => setTimeout(r, 50));
    }
  };
  const exists = (id: string) => containerExists(docker, id);
  const containerOf = async (box: Sandbox) => docker.getContainer(box.id).inspect();

  it('a run takes a started container on an empty folder; the checkout and the session use it, then it is gone', async () => {
    const pool = newPool();
    // Nothing waits yet: the first take misses and starts one for this spec.
    expect(await pool.take({ network: none })).toBeNull();
    await until(() => pool.size() === 1);
    const pooled = await pool.take({ network: none });
    expect(pooled).not.toBeNull();
    if (!pooled) return;
    const box = await pooled.early.sandbox;
    expect(await pooled.early.serverStarted).toBe(true);
    const info = await containerOf(box);
    expect(info.State.Running).toBe(true);
    expect(info.Config.Labels).toMatchObject({
      [POOL_LABEL]: '1',
      [INSTANCE]: 'pool-test',
      [HOST_LABEL]: workerHostId,
    });
    expect(info.Config.Labels[JOB_LABEL]).toBeUndefined();
    expect(readdirSync(pooled.workDir)).toEqual([]);
    // The agent network policy is the one asked for: no interface but loopback.
    expect(info.NetworkSettings.Networks).toEqual({});

    const ws = await workspaces.prepare({
      repo,
      token: await token(),
      ref: 'main',
      jobId: 'job-pool',
      workDir: pooled.workDir,
    });
    expect(ws.workDir).toBe(pooled.workDir);
    let saw: { id: string; readme: string; parent: string } | undefined;
    const agent = {
      async run({ sandbox }: AgentRunInput) {
        saw = {
          id: sandbox.id,
          readme: (await sandbox.exec({ cmd: ['cat', 'README.md'] })).stdout,
          parent: (await sandbox.exec({ cmd: 'ps -o comm= -p $PPID' })).stdout.trim(),
        };
        return done();
      },
    };
    await runAgentSession(
      { sandboxes, image: SANDBOX_IMAGE, agent },
      {
        workspace: ws,
        task: { kind: 'local', text: 'look' },
        repoConfig: {
          setupCommand: null,
          verifyCommands: [],
          network: { setup: none, agent: none },
          limits: { maxTurns: 1, maxCostUsd: 1, maxWallMs: 60_000 },
        },
        labels: { [JOB_LABEL]: 'job-pool' },
        signal: new AbortController().signal,
        log: createSilentLogger(),
        transcriptPath: join(work, 'pool-transcript.jsonl'),
        earlySandbox: pooled.early,
      },
    );
    // The checkout landed in the pooled container, whose tool calls go through its exec server.
    expect(saw).toEqual({ id: box.id, readme: '# widgets\n', parent: 'pw-exec-server' });
    expect(await exists(box.id)).toBe(false);
    await ws.dispose();
    expect(existsSync(pooled.workDir)).toBe(false);
    // The take started a replacement: a different container on a different folder.
    await until(() => pool.size() === 1);
    const next = await pool.take({ network: none });
    expect(next?.workDir).not.toBe(pooled.workDir);
    expect((await next?.early.sandbox)?.id).not.toBe(box.id);
    await next?.early.dispose();
  });

  it('prepare refuses a folder the port did not make, and a pooled folder a second time', async () => {
    const t = await token();
    await expect(
      workspaces.prepare({
        repo,
        token: t,
        ref: 'main',
        jobId: 'x',
        workDir: join(work, 'elsewhere', 'work'),
      }),
    ).rejects.toMatchObject({ code: 'input_invalid' });
    const folder = await (workspaces.newRunFolder as NonNullable<WorkspacePort['newRunFolder']>)();
    const ws = await workspaces.prepare({ repo, token: t, ref: 'main', jobId: 'y', workDir: folder.workDir });
    await expect(
      workspaces.prepare({ repo, token: t, ref: 'main', jobId: 'z', workDir: folder.workDir }),
    ).rejects.toMatchObject({ code: 'input_invalid' });
    await ws.dispose();
  });

  it('never hands a container to a run with another network policy, nor twice', async () => {
    const pool = newPool({ size: 1 });
    await pool.take({ network: none });
    await until(() => pool.size() === 1);
    const allow = { mode: 'allowlist' as const, hosts: ['registry.npmjs.org'] };
    expect(await pool.take({ network: allow })).toBeNull();
    expect(await pool.take({ network: { mode: 'open' } })).toBeNull();
    const a = await pool.take({ network: none });
    expect(a).not.toBeNull();
    // Taken means gone from the pool: the next take gets nothing, or the replacement (which may
    // still be starting), never the same container or folder.
    const again = await pool.take({ network: none });
    if (again) {
      expect(again.workDir).not.toBe(a?.workDir);
      expect((await again.early.sandbox).id).not.toBe((await a?.early.sandbox)?.id);
      await again.early.dispose();
    }
    // The allowlist spec was asked for, so it gets its own container with its own policy.
    const got: { b: Awaited<ReturnType<AgentSandboxPool['take']>> } = { b: null };
    await until(async () => {
      got.b = await pool.take({ network: allow });
      return got.b !== null;
    });
    const b = got.b as unknown as NonNullable<Awaited<ReturnType<AgentSandboxPool['take']>>>;
    const bBox = await b.early.sandbox;
    expect((await containerOf(bBox)).NetworkSettings.Networks).toEqual({});
    expect(b.workDir).not.toBe(a?.workDir);
    expect(bBox.id).not.toBe((await a?.early.sandbox)?.id);
    await a?.early.dispose();
    await b.early.dispose();
  });

  it('does not hand out a container of an image the name no longer points to (the operator rebuilt it)', async () => {
    const repoName = `pw-pool-image-${workerHostId}`;
    const tagged = `${repoName}:a`;
    // Two images with different ids under one name: commits of an unstarted container of ours.
    const commitAs = async () => {
      const c = await docker.createContainer({ Image: SANDBOX_IMAGE, Cmd: ['true'] });
      try {
        await c.commit({ repo: repoName, tag: 'a' });
      } finally {
        await c.remove({ force: true });
      }
    };
    await commitAs();
    try {
      const pool = newPool({ session: { sandboxes, image: tagged } });
      await pool.take({ network: none });
      await until(() => pool.size() === 1);
      const before = await docker.getImage(tagged).inspect();
      await commitAs();
      expect((await docker.getImage(tagged).inspect()).Id).not.toBe(before.Id);
      expect(await pool.take({ network: none })).toBeNull();
      expect(pool.size()).toBe(0);
      // The old image's container is removed, not left waiting.
      await until(async () => {
        const left = await docker.listContainers({
          all: true,
          filters: { label: [`${HOST_LABEL}=${workerHostId}`] },
        });
        return left.every((c) => c.ImageID !== before.Id);
      }, 20_000);
      // Its replacement runs the image the name points to now, and is handed out.
      await until(() => pool.size() === 1);
      const fresh = await pool.take({ network: none });
      const box = await fresh?.early.sandbox;
      expect((await containerOf(box as Sandbox)).Image).not.toBe(before.Id);
      await fresh?.early.dispose();
      await pool.close();
      await docker
        .getImage(before.Id)
        .remove({ force: true })
        .catch(() => undefined);
    } finally {
      await docker
        .getImage(tagged)
        .remove({ force: true })
        .catch(() => undefined);
    }
  });

  it('hands a run the container still starting, starts another for the pool, and never disposes it on close', async () => {
    // Starts are held at `create` until the test lets them go, so "still starting" is certain.
    const gates: Array<() => void> = [];
    const asked: Array<() => void> = [];
    // Its own instance label: the other tests' pools still have containers waiting.
    const own = withBasePolicy(provider, { labels: { [INSTANCE]: 'pool-claim-test' } });
    const gated = {
      ...own,
      create: async (...args: Parameters<typeof own.create>) => {
        await new Promise<void>((go) => {
          gates.push(go);
          asked.shift()?.();
        });
        return own.create(...args);
      },
    };
    const createAsked = () => new Promise<void>((r) => asked.push(r));
    const pool = newPool({ session: { sandboxes: gated, image: SANDBOX_IMAGE } });
    let createCalled = createAsked();
    expect(await pool.take({ network: none })).toBeNull();
    await createCalled;
    expect(pool.size()).toBe(0);
    // A run arriving now gets that start (its folder exists and is empty) rather than starting its own.
    createCalled = createAsked();
    const claimed = await pool.take({ network: none });
    expect(claimed).not.toBeNull();
    if (!claimed) return;
    expect(readdirSync(claimed.workDir)).toEqual([]);
    const pending = Symbol('pending');
    expect(await Promise.race([claimed.early.sandbox, Promise.resolve(pending)])).toBe(pending);
    // The claim no longer counts as the pool's start: a replacement's start is asked for.
    await createCalled;
    expect(gates).toHaveLength(2);
    // The run checks out while its container starts, as with a start of its own.
    const ws = await workspaces.prepare({
      repo,
      token: await token(),
      ref: 'main',
      jobId: 'job-claim',
      workDir: claimed.workDir,
    });
    // Closing the pool leaves the claimed container to its run: the run still gets it, running.
    const closing = pool.close();
    for (const go of gates) go();
    await closing;
    const box = await claimed.early.sandbox;
    expect(await claimed.early.serverStarted).toBe(true);
    const info = await containerOf(box);
    expect(info.State.Running).toBe(true);
    expect(info.Config.Labels[POOL_LABEL]).toBe('1');
    expect((await box.exec({ cmd: ['cat', 'README.md'] })).stdout).toBe('# widgets\n');
    // The replacement started after close removes itself; the claimed one stays until its run disposes it.
    await until(async () => {
      const left = await docker.listContainers({
        all: true,
        filters: { label: [`${INSTANCE}=pool-claim-test`, `${POOL_LABEL}=1`] },
      });
      return left.length === 1 && left[0]?.Names[0] === `/${box.id}`;
    }, 20_000);
    await claimed.early.dispose();
    expect(await exists(box.id)).toBe(false);
    await ws.dispose();
    expect(existsSync(claimed.workDir)).toBe(false);
  });

  it('removes idle containers, specs no longer asked for, and everything waiting on close', async () => {
    // The other tests' pools stop first, so only this test's containers come and go below.
    for (const pool of pools) await pool.close();
    const idle = newPool({ maxIdleMs: 1_500 });
    await idle.take({ network: none });
    await until(() => idle.size() === 1);
    const listPooled = async () =>
      docker.listContainers({
        all: true,
        filters: { label: [`${HOST_LABEL}=${workerHostId}`, `${POOL_LABEL}=1`] },
      });
    const before = (await listPooled()).map((c) => c.Id);
    await until(() => idle.size() === 0, 10_000);
    await until(async () => (await listPooled()).every((c) => !before.includes(c.Id)), 10_000);

    const specs = newPool({ maxSpecs: 1 });
    await specs.take({ network: none });
    await until(() => specs.size() === 1);
    // Asking for another spec drops the least recently asked one's waiting container.
    await specs.take({ network: { mode: 'open' } });
    await until(() => specs.size() === 1);
    expect(await specs.take({ network: none })).toBeNull();

    await specs.close();
    await idle.close();
    const closing = newPool({ size: 2 });
    await closing.take({ network: none });
    await until(() => closing.size() === 2);
    const runs = join(work, 'runs');
    const foldersBefore = readdirSync(runs).length;
    await closing.close();
    expect(closing.size()).toBe(0);
    expect(await closing.take({ network: none })).toBeNull();
    expect(readdirSync(runs).length).toBe(foldersBefore - 2);
    // A start in flight when the pool closes removes itself too.
    const racing = newPool();
    await racing.take({ network: none });
    await new Promise((r) => setTimeout(r, 50));
    await racing.close();
    await until(async () => (await listPooled()).length === 0, 10_000);
  });
});
