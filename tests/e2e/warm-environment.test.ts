import { readdir, readFile, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { LocalStack } from '../../scripts/local-stack.js';
import {
  fixturePackages,
  type LocalRegistry,
  makeNodeProject,
  startLocalRegistry,
} from '../fixtures/registry/local-npm-registry.js';
import { finish, lastToolResults, reply, tool } from '../twins/model/index.js';
import { makeTmp } from '../workspace/fixtures.js';
import {
  containerLabels,
  jobsOf,
  sandboxContainers,
  stack,
  trackingComment,
  waitFor,
} from './e2e-helpers.js';

/** This instance's agent containers that carry the pool label (waiting, or taken by a running job). */
const pooledContainers = (instance: string | undefined) => {
  const pooled = new Set(sandboxContainers('dev.pullwright.pool=1'));
  return sandboxContainers(`dev.pullwright.instance=${instance}`).filter((id) => pooled.has(id));
};

const TOKEN = `npm_${'e2eW4rm'.repeat(4)}`;

/**
 * Issue 17 end to end on the twins: a repository whose setup installs 121 packages
 * from a token-protected registry (the token a setup-only secret). The first issue
 * run sets up and saves a snapshot; the agent reads an installed package, looks for
 * the token and tampers with node_modules. The second run restores the snapshot
 * (setup skipped, said in the tracking comment) and sees the original package.
 */
describe('warm environments through the worker', { timeout: 600_000 }, () => {
  let tmp: Awaited<ReturnType<typeof makeTmp>>;
  let registry: LocalRegistry;
  let s: LocalStack;
  const seen: string[] = [];

  beforeAll(async () => {
    tmp = await makeTmp('pw-e2e-warm-');
    registry = await startLocalRegistry({ token: TOKEN, packages: fixturePackages(120) });
    const project = join(tmp.dir, 'project');
    await makeNodeProject(project, registry, TOKEN);
    const repoFiles: Record<string, string> = {};
    for (const f of await readdir(project)) repoFiles[f] = await readFile(join(project, f), 'utf8');
    repoFiles['.github/pullwright.yml'] = [
      'setup: npm ci --no-audit --no-fund',
      'verify:',
      '  - node check.js',
      'network:',
      `  setup: { mode: allowlist, hosts: ["${registry.host}:${registry.port}"] }`,
      '  agent: { mode: none }',
      '',
    ].join('\n');
    const secretsFile = join(tmp.dir, 'setup-secrets.yml');
    await writeFile(secretsFile, `- repos: ["alice/*"]\n  env:\n    NPM_TOKEN: "${TOKEN}"\n`, {
      mode: 0o600,
    });
    s = await stack({
      repoFiles,
      env: {
        MAX_NETWORK: 'allowlist',
        EGRESS_ALLOW_PRIVATE_RANGES: `${registry.host}/32`,
        SNAPSHOT_DIR: join(tmp.dir, 'snapshots'),
        SETUP_SECRETS_FILE: secretsFile,
      },
    });
    s.model?.setScenario({
      name: 'warm-probe',
      description: 'reads a package, looks for the token, tampers with node_modules, finishes',
      respond: (request, ctx) => {
        if (ctx.turn === 1)
          return reply(
            tool('bash', {
              command:
                'hostname; node check.js; cat node_modules/pw-fixture-000/index.js; (env; cat ~/.npmrc; tr "\\0" "\\n" < /proc/1/environ) 2>/dev/null | grep -c e2eW4rm; echo "module.exports = \\"TAMPERED\\";" > node_modules/pw-fixture-000/index.js',
            }),
          );
        seen.push(
          lastToolResults(request)
            .map((r) => r.result?.text ?? '')
            .join('\n'),
        );
        return finish('Looked around.');
      },
    });
  });
  afterAll(async () => {
    await s?.close();
    await registry?.close();
    await tmp?.cleanup();
  });

  const runIssue = async (title: string) => {
    const { number } = s.github.seed.issue({ repo: s.repo, title, body: 'look around', author: 'alice' });
    await s.github.actions.assignIssue({
      repo: s.repo,
      number,
      assignee: s.github.app.botLogin,
      sender: 'alice',
    });
    await waitFor('the job to finish', async () => {
      const job = (await jobsOf(s)).find((j) => j.data.number === number);
      return job && ((await job.isCompleted()) || (await job.isFailed()));
    });
    return trackingComment(s, number)?.body ?? '';
  };

  it('first run sets up and snapshots; the second restores, skips setup and sees none of the tampering', async () => {
    const before = registry.requests.length;
    const first = await runIssue('First run');
    expect(first).not.toMatch(/restored from a snapshot/i);
    expect(
      registry.requests.slice(before).filter((r) => r.path.endsWith('.tgz') && r.authorized),
    ).toHaveLength(121);
    expect(seen[0]).toContain('deps ok');
    expect(seen[0]).toContain('module.exports = "pw-fixture-000"');
    const afterFirst = registry.requests.length;
    // The worker keeps an agent container started ahead of the next run (SANDBOX_POOL_SIZE,
    // default 1): the second run takes that one (its hostname is the container's short id).
    // One worker (the stack's own): each worker keeps its own pool, and with a second one the
    // next job may go to the worker whose pool is still empty.
    expect(s.workers).toHaveLength(1);
    const instance = s.workers[0]?.instanceId;
    const waiting = await waitFor('a pooled agent container', () => {
      const ids = pooledContainers(instance);
      return ids.length === 1 ? ids : null;
    });
    expect(containerLabels(waiting[0] as string)['dev.pullwright.job']).toBeUndefined();
    const comment = await runIssue('Second run');
    expect(seen[1]?.split('\n')[0]).toBe(waiting[0]);
    expect(registry.requests.length).toBe(afterFirst); // setup did not run
    expect(seen[1]).toContain('deps ok');
    expect(seen[1]).toContain('module.exports = "pw-fixture-000"');
    // The tracking comment says so (a note kept through the final edit).
    expect(comment).toMatch(/restored from a snapshot/i);
    // The agent found no form of the token in either run (grep -c printed 0).
    for (const out of seen) {
      expect(out).not.toContain(TOKEN);
      expect(out).toMatch(/(^|\n)0(\n|$)/);
    }
  });

  it("a worker's close removes the agent containers waiting in its pool", async () => {
    const worker = s.workers[0];
    await waitFor('the pool to refill', () => pooledContainers(worker?.instanceId).length === 1);
    await worker?.close(5_000);
    s.workers.splice(0, 1);
    expect(sandboxContainers(`dev.pullwright.instance=${worker?.instanceId}`)).toEqual([]);
  });
});
