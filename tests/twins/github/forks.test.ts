import { execFile } from 'node:child_process';
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startGitHubTwin } from './index.js';
import { isolatedGitEnv } from './isolated-git-env.js';
import type { GitHubTwin } from './types.js';
import { expectShapedLikeExample } from './webhook-examples.js';

const run = promisify(execFile);
let twin: GitHubTwin;
let work: string;
let baseInst: number;
let forkInst: number;

function git(args: string[], cwd?: string) {
  return run('git', args, {
    cwd,
    env: isolatedGitEnv(work),
  });
}

beforeAll(async () => {
  work = await mkdtemp(join(tmpdir(), 'twin-forks-'));
  twin = await startGitHubTwin({ forkDelayMs: 0, restWebhooks: true });
  twin.seed.user({ login: 'alice' });
  twin.seed.user({ login: 'pw-forks', type: 'Organization' });
  await twin.seed.repo({ owner: 'alice', name: 'demo', files: { 'a.txt': 'a\n' } });
  baseInst = twin.seed.installation({ account: 'alice' }).id;
  forkInst = twin.seed.installation({
    account: 'pw-forks',
    permissions: { contents: 'write', metadata: 'read', administration: 'write' },
  }).id;
});

afterAll(async () => {
  await twin?.close();
  await rm(work, { recursive: true, force: true });
});

describe('pushing to a fork the app owns', () => {
  it('moves the parent PR it heads, with push on the fork and synchronize on the parent, each through its own installation', async () => {
    const admin = twin.createInstallationToken(forkInst, {
      permissions: { administration: 'write', contents: 'read' },
    }).token;
    const res = await fetch(`${twin.url}/repos/alice/demo/forks`, {
      method: 'POST',
      headers: { authorization: `token ${admin}`, 'content-type': 'application/json' },
      body: JSON.stringify({ organization: 'pw-forks', default_branch_only: true }),
    });
    expect(res.status).toBe(202);

    // The fork's own token: contents write on the fork only.
    const forkToken = twin.createInstallationToken(forkInst, {
      repositories: ['demo'],
      permissions: { contents: 'write' },
    }).token;
    const dir = join(work, 'clone');
    await git(['clone', '-q', twin.gitUrl('pw-forks/demo', forkToken), dir]);
    await writeFile(join(dir, 'a.txt'), 'b\n');
    await git(['commit', '-qam', 'change'], dir);
    await git(['push', '-q', 'origin', 'HEAD:refs/heads/agent-branch'], dir);

    const baseToken = twin.createInstallationToken(baseInst).token;
    const opened = await fetch(`${twin.url}/repos/alice/demo/pulls`, {
      method: 'POST',
      headers: { authorization: `token ${baseToken}`, 'content-type': 'application/json' },
      body: JSON.stringify({ title: 'From the fork', head: 'pw-forks:agent-branch', base: 'main' }),
    });
    expect(opened.status).toBe(201);
    const pull = (await opened.json()) as { number: number; head: { repo: { full_name: string } } };
    expect(pull.head.repo.full_name).toBe('pw-forks/demo');

    // The parent's CI (not the fork's) runs on the fork's new head, as GitHub runs `pull_request` workflows.
    twin.ci.enable('alice/demo');
    twin.ci.outcome({ repo: 'alice/demo', branch: 'agent-branch', job: 'test', outcomes: ['failure'] });
    await writeFile(join(dir, 'a.txt'), 'c\n');
    await git(['commit', '-qam', 'again'], dir);
    await git(['push', '-q', 'origin', 'HEAD:refs/heads/agent-branch'], dir);
    await twin.settled();
    await twin.ci.idle();
    const after = (await git(['rev-parse', 'HEAD'], dir)).stdout.trim();
    expect(twin.ci.workflowRuns('alice/demo').map((r) => [r.headSha, r.event, r.conclusion])).toEqual([
      [after, 'pull_request', 'failure'],
    ]);
    expect(twin.ci.workflowRuns('pw-forks/demo')).toEqual([]);

    expect(twin.inspect.pull('alice/demo', pull.number)?.headSha).toBe(after);
    // The parent never got a branch: only the fork was pushed to.
    expect(Object.keys(await twin.inspect.branches('alice/demo'))).toEqual(['main']);
    expect(twin.inspect.pushes('alice/demo')).toEqual([]);
    expect(twin.inspect.pushes('pw-forks/demo').map((p) => p.pusher.kind)).toEqual([
      'installation',
      'installation',
    ]);
    const events = twin.deliveries.map((d) => ({
      event: `${d.event}.${d.action ?? ''}`,
      repo: (JSON.parse(d.body) as { repository?: { full_name: string } }).repository?.full_name,
      installationId: d.installationId,
    }));
    expect(events).toContainEqual({ event: 'push.', repo: 'pw-forks/demo', installationId: forkInst });
    expect(events).toContainEqual({
      event: 'pull_request.synchronize',
      repo: 'alice/demo',
      installationId: baseInst,
    });
    expect(events.filter((e) => e.repo === 'alice/demo' && e.event === 'push.')).toEqual([]);
    // The fork itself is announced on the source repository (`fork`), and PR opened there, as GitHub sends them.
    expect(events).toContainEqual({ event: 'fork.', repo: 'alice/demo', installationId: baseInst });
    expect(events).toContainEqual({
      event: 'pull_request.opened',
      repo: 'alice/demo',
      installationId: baseInst,
    });
    const shaped = twin.deliveries.filter((d) => ['fork', 'push', 'pull_request'].includes(d.event));
    expect(shaped.length).toBeGreaterThanOrEqual(4);
    for (const d of shaped) expectShapedLikeExample(d);
  });
});
