import { readdirSync, readFileSync, statSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { AgentRunInput } from '../../worker/session/agent-runner.js';
import { runAgentSession } from '../../worker/session/run-agent-session.js';
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

const TOKEN = `npm_${'Zq7Xw2'.repeat(5)}`;
const B64 = Buffer.from(TOKEN).toString('base64').replace(/=+$/, '');
const SECRETS = `- repos: ["acme/*"]\n  env:\n    NPM_TOKEN: "${TOKEN}"\n`;

/** Every way an agent could look for the token; each probe's output is checked by the test. */
const PROBES = [
  'env',
  'cat /proc/self/environ | tr "\\0" "\\n"',
  'for f in /proc/[0-9]*/environ /proc/[0-9]*/cmdline; do tr "\\0" "\\n" < "$f" 2>/dev/null; done',
  'grep -rIl --exclude-dir=proc -e "Zq7Xw2Zq7Xw2" /workspace /home /tmp /run /etc /var 2>/dev/null; true',
  `grep -rl -e "${B64.slice(0, 16)}" /workspace /home /tmp 2>/dev/null; true`,
  'cat ~/.npmrc .npmrc 2>/dev/null; npm config list 2>&1; true',
  // The network: the registry (reachable through the agent's allowlist here) without the token.
  'npm view pw-fixture-000 --json 2>&1 | head -c 2000; true',
  'curl -s -m 5 "$npm_config_registry" 2>&1; curl -s -m 5 -x "$HTTP_PROXY" http://127.0.0.2/ 2>&1; true',
];

describe('setup-only secrets', { timeout: 420_000 }, () => {
  const { provider, workerHostId, docker } = registryProvider();
  let tmp: Awaited<ReturnType<typeof makeTmp>>;
  let registry: LocalRegistry;
  let cache: RepoCache;
  const seen: string[] = [];
  /** Index of the first registry request of the latest agent phase. */
  let agentStart = 0;

  beforeAll(async () => {
    tmp = await makeTmp('pw-env-secrets-');
    registry = await startLocalRegistry({ token: TOKEN, packages: fixturePackages(20) });
    cache = await makeNodeRepo(tmp.dir, 'widgets', registry, TOKEN);
  });
  afterAll(async () => {
    await removeContainersOf(docker, workerHostId);
    await registry?.close();
    await tmp?.cleanup();
  });

  const snapshotDir = () => join(tmp.dir, 'snapshots');
  const prober = {
    async run({ sandbox }: AgentRunInput) {
      agentStart = registry.requests.length;
      for (const cmd of PROBES) {
        const r = await sandbox.exec({ cmd, timeoutMs: 30_000 });
        seen.push(`$ ${cmd}\n${r.stdout}${r.stderr}`);
      }
      return done();
    },
  };
  const agentCanReachRegistry = (input: ReturnType<typeof sessionInput>) => ({
    ...input,
    repoConfig: {
      ...input.repoConfig,
      // Setup echoes the token: its output must come back scrubbed.
      setupCommand: 'echo "using $NPM_TOKEN" && npm ci --no-audit --no-fund',
      // biome-ignore lint/suspicious/noTemplateCurlyInString: a shell expansion, run in the verify container
      verifyCommands: ['node check.js', 'test -z "${NPM_TOKEN:-}"'],
      network: { setup: input.repoConfig.network.setup, agent: input.repoConfig.network.setup },
    },
  });
  const allFiles = (dir: string): string[] =>
    readdirSync(dir).flatMap((f) => {
      const p = join(dir, f);
      return statSync(p).isDirectory() ? allFiles(p) : [p];
    });

  it('setup installs with the token; the agent finds it nowhere (env, files, /proc, snapshot, network)', async () => {
    const environment = environmentService({ dir: snapshotDir(), secretsYaml: SECRETS });
    for (const run of [1, 2]) {
      const result = await runAgentSession(
        { sandboxes: provider, image: SANDBOX_IMAGE, agent: prober, environment },
        agentCanReachRegistry(sessionInput(await workspaceFor(tmp.dir, cache), registry)),
      );
      if (run === 1) {
        expect(result.setup?.ok, result.setup?.outputTail).toBe(true);
        expect(result.setup?.outputTail).toContain('using [REDACTED]');
        expect(result.setup?.outputTail).not.toContain(TOKEN);
        expect(result.environment).toMatchObject({ source: 'setup', snapshot: 'saved' });
      } else {
        expect(result.environment).toMatchObject({ source: 'snapshot' });
      }
      // Verify had the packages and no token.
      expect(result.verify.map((v) => v.ok)).toEqual([true, true]);
      // Every request of the agent phase and after reached the registry without the token.
      expect(registry.requests.slice(agentStart).filter((r) => r.authorized)).toEqual([]);
      expect(registry.requests.slice(agentStart).length).toBeGreaterThan(0);
    }
    expect(seen.length).toBe(PROBES.length * 2);
    // The probes ran and saw the registry refuse them (the network probe reached it).
    expect(seen.join('\n')).toMatch(/E401|authentication required|401/);
    for (const output of seen) {
      expect(output).not.toContain(TOKEN);
      expect(output).not.toContain(B64);
    }
    // The snapshot on the host holds no form of the token either.
    const files = allFiles(snapshotDir());
    expect(files.some((f) => f.endsWith('workspace.tar'))).toBe(true);
    for (const f of files) {
      const bytes = readFileSync(f);
      expect(bytes.includes(TOKEN)).toBe(false);
      expect(bytes.includes(B64)).toBe(false);
    }
  });

  it('a setup that writes the token down: nothing of it is kept or reaches the agent', async () => {
    const environment = environmentService({ dir: join(tmp.dir, 'snapshots-leaky'), secretsYaml: SECRETS });
    const before = seen.length;
    const input = sessionInput(await workspaceFor(tmp.dir, cache), registry);
    const result = await runAgentSession(
      { sandboxes: provider, image: SANDBOX_IMAGE, agent: prober, environment },
      {
        ...input,
        repoConfig: {
          ...input.repoConfig,
          setupCommand:
            'npm ci --no-audit --no-fund && echo "$NPM_TOKEN" > node_modules/.token && echo "//x/:_authToken=$NPM_TOKEN" > ~/.npmrc',
        },
      },
    );
    expect(result.environment).toMatchObject({ source: 'setup', snapshot: 'not-saved', reason: 'secret' });
    expect(result.setup?.ok).toBe(false);
    expect(result.setup?.outputTail).toContain('setup secret');
    for (const output of seen.slice(before)) expect(output).not.toContain(TOKEN);
    const kept = allFiles(join(tmp.dir, 'snapshots-leaky')).filter((f) => f.endsWith('.tar'));
    expect(kept).toEqual([]);
    // Verify ran without setup's result (it was discarded), so the packages are missing there.
    expect(result.verify[0]?.ok).toBe(false);
  });

  it('a repository the secrets file does not name gets no secret (setup cannot authenticate)', async () => {
    const environment = environmentService({ dir: join(tmp.dir, 'snapshots-other'), secretsYaml: SECRETS });
    const result = await runAgentSession(
      { sandboxes: provider, image: SANDBOX_IMAGE, agent: { run: async () => done() }, environment },
      sessionInput(await workspaceFor(tmp.dir, cache), registry, { repo: 'other/widgets' }),
    );
    expect(result.setup?.ok).toBe(false);
    expect(result.environment).toMatchObject({
      source: 'setup',
      snapshot: 'not-saved',
      reason: 'setup-failed',
    });
  });
});
