import { execFileSync } from 'node:child_process';
import { mkdirSync, readdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { toPullwrightError } from '../../src/errors.js';
import { createSilentLogger } from '../../src/logger.js';
import type { AgentResult } from '../../worker/agent/loop/run-agent.js';
import { createGitWorkspaces } from '../../worker/flows/git-workspaces.js';
import { HOST_LABEL } from '../../worker/sandbox/docker-sandbox-provider.js';
import type { Sandbox } from '../../worker/sandbox/sandbox.js';
import type { AgentRunInput } from '../../worker/session/agent-runner.js';
import { createFreshCopier } from '../../worker/session/fresh-copy.js';
import { PhaseTimings } from '../../worker/session/phase-timings.js';
import {
  type AgentSessionInput,
  runAgentSession,
  type SessionWorkspace,
} from '../../worker/session/run-agent-session.js';
import { extractPatch } from '../../worker/workspace/patch.js';
import type { RepoCache } from '../../worker/workspace/repo-cache.js';
import { createWorkingCopy } from '../../worker/workspace/working-copy.js';
import { removeContainersOf, SANDBOX_IMAGE, testProvider } from '../sandbox/helpers.js';
import { git, makeTmp } from '../workspace/fixtures.js';

const done = (): AgentResult => ({
  outcome: 'succeeded',
  summary: 'done',
  usage: { input: 1, output: 1, cacheRead: 0, cacheWrite: 0, costUsd: 0 },
  turns: 1,
  durationMs: 1,
  plan: [],
});

const run = async (box: Sandbox, cmd: string) => {
  const r = await box.exec({ cmd });
  expect(r.exitCode, r.stderr).toBe(0);
};

/**
 * Issue 14 item 6: verify must not trust the agent's container. The repository
 * installs its checker in setup (an ignored node_modules/.bin/check); the agent
 * breaks the code and plants everything it can outside the patch.
 */
describe('verify runs in a fresh container on the extracted change', { timeout: 180_000 }, () => {
  const { provider, workerHostId, docker } = testProvider();
  let tmp: Awaited<ReturnType<typeof makeTmp>>;
  let cache: RepoCache;
  let n = 0;

  beforeAll(async () => {
    tmp = await makeTmp('pw-fresh-verify-');
    const scratch = join(tmp.dir, 'scratch');
    mkdirSync(join(scratch, 'src'), { recursive: true });
    git(scratch, ['init', '--quiet']);
    writeFileSync(join(scratch, '.gitignore'), 'node_modules/\n');
    writeFileSync(join(scratch, 'src', 'status.txt'), 'ok\n');
    git(scratch, ['add', '-A']);
    git(scratch, ['commit', '--quiet', '-m', 'initial']);
    cache = { dir: join(tmp.dir, 'cache.git'), remoteUrl: 'file:///nowhere.git' };
    git(tmp.dir, ['clone', '--bare', '--quiet', scratch, cache.dir]);
    // The "remote" the worker's workspaces fetch from: <gitBaseUrl>/acme/widgets.git.
    git(tmp.dir, ['clone', '--bare', '--quiet', scratch, join(tmp.dir, 'origin', 'acme', 'widgets.git')]);
  });

  afterAll(async () => {
    await removeContainersOf(docker, workerHostId);
    await tmp?.cleanup();
  });

  const workspaceFor = async (withFreshCopy: boolean): Promise<SessionWorkspace> => {
    n += 1;
    const parentDir = join(tmp.dir, `run-${n}`);
    const copy = await createWorkingCopy({ cache, ref: 'main', dir: join(parentDir, 'work') });
    return {
      workDir: copy.dir,
      baseSha: copy.baseSha,
      extractPatch: () => extractPatch({ workDir: copy.dir, baseSha: copy.baseSha, cache }),
      ...(withFreshCopy ? { freshCopy: createFreshCopier({ cache, baseSha: copy.baseSha, parentDir }) } : {}),
    };
  };

  const input = (workspace: SessionWorkspace, extra: Partial<AgentSessionInput> = {}): AgentSessionInput => ({
    workspace,
    task: { kind: 'local', text: 'change the status' },
    repoConfig: {
      // The checker: passes only when src/status.txt says ok.
      setupCommand:
        "mkdir -p node_modules/.bin && printf '#!/bin/sh\\ngrep -qx ok src/status.txt\\n' > node_modules/.bin/check && chmod +x node_modules/.bin/check",
      verifyCommands: ['node_modules/.bin/check', 'test "$(cat src/status.txt)" = ok'],
      network: { setup: { mode: 'none' }, agent: { mode: 'none' } },
      limits: { maxTurns: 5, maxCostUsd: 1, maxWallMs: 60_000 },
    },
    labels: { 'dev.pullwright.job': 'fresh-verify-test' },
    signal: new AbortController().signal,
    log: createSilentLogger(),
    transcriptPath: join(tmp.dir, `transcript-${n}.jsonl`),
    ...extra,
  });

  /** Breaks the code, then poisons HOME, /tmp and the ignored checker so that everything "passes". */
  const poisoner = {
    async run({ sandbox }: AgentRunInput) {
      await sandbox.writeFile('src/status.txt', 'broken\n');
      await run(sandbox, "printf 'exit 0\\n' >> ~/.bash_profile && printf 'exit 0\\n' >> ~/.bashrc");
      await run(sandbox, "printf 'exit 0\\n' > ~/.profile && printf 'exit 0\\n' > /tmp/rc");
      await run(sandbox, "printf '#!/bin/sh\\nexit 0\\n' > node_modules/.bin/check");
      // What the poisoned container itself would report.
      expect((await sandbox.exec({ cmd: 'node_modules/.bin/check' })).exitCode).toBe(0);
      return done();
    },
  };

  it('reports the real failure of a broken change though the agent poisoned its container', async () => {
    const workspace = await workspaceFor(true);
    const timings = new PhaseTimings();
    const events: string[] = [];
    const result = await runAgentSession(
      { sandboxes: provider, image: SANDBOX_IMAGE, agent: poisoner },
      input(workspace, { timings, onEvent: (e) => events.push(e.type === 'phase' ? e.phase : e.type) }),
    );
    expect(result.setup).toMatchObject({ exitCode: 0, ok: true });
    // Only the code change came back: the checker is ignored, HOME and /tmp are not in the tree.
    expect(result.patch.paths).toEqual(['src/status.txt']);
    expect(result.verify.map((v) => [v.command, v.ok])).toEqual([
      ['node_modules/.bin/check', false],
      ['test "$(cat src/status.txt)" = ok', false],
    ]);
    expect(result.verify[0]?.exitCode).toBe(1);
    expect(events).toEqual(['setup', 'sandbox', 'agent', 'verify']);
    expect(Object.keys(timings.summary().phases)).toEqual(['setup', 'sandbox', 'agent', 'extract', 'verify']);
    // Every container and the verify copy are gone.
    const left = execFileSync('docker', ['ps', '-aq', '--filter', `label=${HOST_LABEL}=${workerHostId}`], {
      encoding: 'utf8',
    });
    expect(left.trim()).toBe('');
    expect(readdirSync(join(tmp.dir, `run-${n}`))).toEqual(['work']);
  });

  it('verifies a good change green, with the files setup changed and the agent added', async () => {
    const workspace = await workspaceFor(true);
    const result = await runAgentSession(
      {
        sandboxes: provider,
        image: SANDBOX_IMAGE,
        agent: {
          async run({ sandbox }: AgentRunInput) {
            await sandbox.writeFile('src/status.txt', 'ok\n');
            await sandbox.writeFile('docs/new.md', 'new\n');
            await run(sandbox, 'printf "# note\\n" >> .gitignore');
            return done();
          },
        },
      },
      input(workspace, {
        repoConfig: {
          ...input(workspace).repoConfig,
          // Setup also rewrites a tracked file (as `npm install` rewrites a lockfile).
          setupCommand: `${input(workspace).repoConfig.setupCommand} && printf 'from setup\\n' >> .gitignore`,
          verifyCommands: ['node_modules/.bin/check', 'cat docs/new.md', 'cat .gitignore'],
        },
      }),
    );
    expect(result.verify.map((v) => [v.command, v.exitCode, v.ok])).toEqual([
      ['node_modules/.bin/check', 0, true],
      ['cat docs/new.md', 0, true],
      ['cat .gitignore', 0, true],
    ]);
    expect(result.verify[1]?.outputTail).toBe('new\n');
    expect(result.verify[2]?.outputTail).toBe('node_modules/\nfrom setup\n# note\n');
    expect(result.patch.paths.sort()).toEqual(['.gitignore', 'docs/new.md']);
  });

  it('without freshCopy (the fallback) verify in the agent container can be faked, which is why callers give one', async () => {
    // Without freshCopy the session keeps verifying in the agent's container (callers that
    // cannot make a copy); this is the hole the fresh copy closes.
    const workspace = await workspaceFor(false);
    const result = await runAgentSession(
      { sandboxes: provider, image: SANDBOX_IMAGE, agent: poisoner },
      input(workspace),
    );
    expect(result.verify.map((v) => v.ok)).toEqual([true, false]);
  });

  const containersLeft = () =>
    execFileSync('docker', ['ps', '-aq', '--filter', `label=${HOST_LABEL}=${workerHostId}`], {
      encoding: 'utf8',
    }).trim();

  it("the worker's workspaces give the session a fresh copy, so a job's verify is not faked either", async () => {
    const workspaces = createGitWorkspaces({
      cacheDir: join(tmp.dir, 'worker-cache'),
      runsDir: join(tmp.dir, 'worker-runs'),
      gitBaseUrl: `file://${join(tmp.dir, 'origin')}`,
    });
    const ws = await workspaces.prepare({
      repo: { owner: 'acme', name: 'widgets' },
      token: 'unused-for-file-remotes',
      ref: 'main',
      jobId: 'job-fresh',
    });
    try {
      expect(ws.freshCopy).toBeTypeOf('function');
      const result = await runAgentSession(
        { sandboxes: provider, image: SANDBOX_IMAGE, agent: poisoner },
        input(ws),
      );
      expect(result.verify.map((v) => v.ok)).toEqual([false, false]);
      expect(result.patch.paths).toEqual(['src/status.txt']);
    } finally {
      await ws.dispose();
    }
    expect(readdirSync(join(tmp.dir, 'worker-runs'))).toEqual([]);
  });

  it('a signal during verify cancels the run and removes the verify containers and copy', async () => {
    const workspace = await workspaceFor(true);
    const abort = new AbortController();
    const base = input(workspace);
    const err = await runAgentSession(
      {
        sandboxes: provider,
        image: SANDBOX_IMAGE,
        agent: {
          async run({ sandbox }: AgentRunInput) {
            await sandbox.writeFile('src/status.txt', 'ok\n');
            return done();
          },
        },
      },
      {
        ...base,
        repoConfig: { ...base.repoConfig, verifyCommands: ['sleep 60', 'true'] },
        signal: abort.signal,
        onEvent: (e) => {
          if (e.type === 'phase' && e.phase === 'verify') setTimeout(() => abort.abort(), 2_000);
        },
      },
    ).then(
      () => null,
      (e: unknown) => e,
    );
    expect(err && toPullwrightError(err).code).toBe('cancelled');
    expect(containersLeft()).toBe('');
    expect(readdirSync(join(tmp.dir, `run-${n}`))).toEqual(['work']);
  });
});
