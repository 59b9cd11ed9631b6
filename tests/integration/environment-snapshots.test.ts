import { readdirSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
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
  addDependency,
  done,
  environmentService,
  makeNodeRepo,
  registryProvider,
  SANDBOX_IMAGE,
  sessionInput,
  workspaceFor,
} from './environment-helpers.js';

const TOKEN = `npm_${'s3cr3t'.repeat(4)}`;
const SECRETS = `- repos: ["acme/*"]\n  env:\n    NPM_TOKEN: "${TOKEN}"\n`;

/**
 * Issue 17, environment snapshots through the real session: a repository whose
 * setup (`npm ci`) installs 121 packages from a token-protected registry on
 * loopback, reached through the allowlist egress proxy.
 */
describe('environment snapshots', { timeout: 300_000 }, () => {
  const { provider, workerHostId, docker } = registryProvider();
  let tmp: Awaited<ReturnType<typeof makeTmp>>;
  let registry: LocalRegistry;
  let cache: RepoCache;

  beforeAll(async () => {
    tmp = await makeTmp('pw-env-snap-');
    registry = await startLocalRegistry({ token: TOKEN, packages: fixturePackages(120) });
    cache = await makeNodeRepo(tmp.dir, 'widgets', registry, TOKEN);
  });
  afterAll(async () => {
    await removeContainersOf(docker, workerHostId);
    await registry?.close();
    await tmp?.cleanup();
  });

  const snapshotDir = () => join(tmp.dir, 'snapshots');
  const service = (maxRepoBytes?: number) =>
    environmentService({
      dir: snapshotDir(),
      secretsYaml: SECRETS,
      ...(maxRepoBytes ? { maxRepoBytes } : {}),
    });
  const deps = (
    agent: { run(i: AgentRunInput): Promise<ReturnType<typeof done>> },
    maxRepoBytes?: number,
  ) => ({
    sandboxes: provider,
    image: SANDBOX_IMAGE,
    agent,
    environment: service(maxRepoBytes),
  });
  /** The size of the first snapshot, from the run that restored it. */
  let snapshotBytes = 0;
  const tarballRequests = () => registry.requests.filter((r) => r.path.endsWith('.tgz')).length;

  /** Reads what the agent sees, then tampers with an installed package and HOME. */
  const seen: string[] = [];
  const tamperer = {
    async run({ sandbox }: AgentRunInput) {
      const r = await sandbox.exec({ cmd: 'node check.js && cat node_modules/pw-fixture-000/index.js' });
      seen.push(`${r.exitCode}:${r.stdout}`);
      await sandbox.exec({
        cmd: 'echo \'module.exports = "TAMPERED";\' > node_modules/pw-fixture-000/index.js && echo x > ~/.tampered',
      });
      return done();
    },
  };

  it('first run sets up and saves a snapshot; the agent and verify get the installed packages', async () => {
    const events: SessionEvent[] = [];
    const before = tarballRequests();
    const result = await runAgentSession(
      deps(tamperer),
      sessionInput(await workspaceFor(tmp.dir, cache), registry, { onEvent: (e) => events.push(e) }),
    );
    expect(result.setup, result.setup?.outputTail).toMatchObject({ ok: true });
    expect(tarballRequests() - before).toBe(121);
    expect(result.environment).toMatchObject({ source: 'setup', snapshot: 'saved' });
    expect(events.filter((e) => e.type === 'environment')).toHaveLength(1);
    expect(seen.at(-1)).toBe('0:deps ok\nmodule.exports = "pw-fixture-000";\n');
    // Verify ran on a fresh copy with setup's result restored (not the tampered tree).
    expect(result.verify.map((v) => [v.command, v.ok])).toEqual([['node check.js', true]]);
    // The agent's tampering is not in the patch (node_modules is ignored).
    expect(result.patch.paths).toEqual([]);
  });

  it('second run restores the snapshot, skips setup, and sees none of run 1 tampering', async () => {
    const before = registry.requests.length;
    const events: string[] = [];
    const result = await runAgentSession(
      deps(tamperer),
      sessionInput(await workspaceFor(tmp.dir, cache), registry, {
        onEvent: (e) => events.push(e.type === 'phase' ? e.phase : e.type),
      }),
    );
    expect(result.setup).toBeNull();
    expect(result.environment).toMatchObject({ source: 'snapshot' });
    snapshotBytes = (result.environment as { bytes: number }).bytes;
    expect(snapshotBytes).toBeGreaterThan(100_000);
    expect(registry.requests.length).toBe(before); // no install at all
    expect(events).toEqual(['setup', 'sandbox', 'environment', 'agent', 'verify']);
    expect(seen.at(-1)).toBe('0:deps ok\nmodule.exports = "pw-fixture-000";\n');
    expect(result.verify.map((v) => v.ok)).toEqual([true]);
  });

  it('a lockfile change runs setup again and replaces the snapshot; the run after restores the new one', async () => {
    await addDependency(tmp.dir, 'widgets', registry, TOKEN, 'pw-fixture-001');
    const before = tarballRequests();
    const changed = await runAgentSession(
      deps(tamperer),
      sessionInput(await workspaceFor(tmp.dir, cache), registry),
    );
    expect(changed.setup?.ok, changed.setup?.outputTail).toBe(true);
    expect(tarballRequests() - before).toBe(121);
    expect(changed.environment).toMatchObject({ source: 'setup', snapshot: 'saved' });
    const again = await runAgentSession(
      deps(tamperer),
      sessionInput(await workspaceFor(tmp.dir, cache), registry),
    );
    expect(again.environment).toMatchObject({ source: 'snapshot' });
    expect(seen.at(-1)).toBe('0:deps ok\nmodule.exports = "pw-fixture-000";\n');
  });

  it('never shares a snapshot with another installation of the same repository', async () => {
    const other = await runAgentSession(
      deps(tamperer),
      sessionInput(await workspaceFor(tmp.dir, cache), registry, { installationId: 8 }),
    );
    expect(other.environment).toMatchObject({ source: 'setup', snapshot: 'saved' });
    const scopes = readdirSync(snapshotDir()).filter((d) => d !== '.tmp');
    expect(scopes).toHaveLength(2);
  });
});
