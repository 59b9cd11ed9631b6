import { execFile } from 'node:child_process';
import { access, mkdir, mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { gzipSync } from 'node:zlib';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startGitHubTwin } from './index.js';
import { isolatedGitEnv } from './isolated-git-env.js';
import type { GitHubTwin } from './types.js';

let twin: GitHubTwin;
let work: string;
let installationId: number;
let otherInstallation: number;
let bobToken: string;
let receiver: Server;
const received: { event: string; body: Record<string, unknown> }[] = [];

/** Runs git with no user/system config and never prompting, so a refused credential fails fast. */
function git(args: string[], cwd?: string): Promise<{ code: number; stdout: string; stderr: string }> {
  return new Promise((resolve) => {
    execFile(
      'git',
      args,
      {
        cwd,
        env: isolatedGitEnv(work),
      },
      (err, stdout, stderr) => {
        const code = err ? (typeof err.code === 'number' ? err.code : 1) : 0;
        resolve({ code, stdout, stderr });
      },
    );
  });
}

async function cloneAs(repo: string, token: string | undefined, name: string) {
  const dir = join(work, name);
  const res = await git(['clone', '-q', twin.gitUrl(repo, token), dir]);
  return { dir, ...res };
}

async function commitFile(dir: string, file: string, content: string, message: string) {
  await writeFile(join(dir, file), content);
  expect((await git(['add', file], dir)).code).toBe(0);
  expect((await git(['commit', '-q', '-m', message], dir)).code).toBe(0);
  return (await git(['rev-parse', 'HEAD'], dir)).stdout.trim();
}

beforeAll(async () => {
  work = await mkdtemp(join(tmpdir(), 'gh-twin-git-test-'));
  receiver = createServer((req, res) => {
    const chunks: Buffer[] = [];
    req.on('data', (c: Buffer) => chunks.push(c));
    req.on('end', () => {
      received.push({
        event: String(req.headers['x-github-event']),
        body: JSON.parse(Buffer.concat(chunks).toString('utf8')) as Record<string, unknown>,
      });
      res.end('ok');
    });
  });
  await new Promise<void>((r) => receiver.listen(0, '127.0.0.1', r));
  twin = await startGitHubTwin({
    webhookUrl: `http://127.0.0.1:${(receiver.address() as AddressInfo).port}/hooks`,
  });
  twin.seed.user({ login: 'alice' });
  bobToken = twin.seed.user({ login: 'bob' }).token;
  twin.seed.user({ login: 'carol' });
  await twin.seed.repo({ owner: 'alice', name: 'proj', files: { 'README.md': '# proj\n', 'a.txt': 'a\n' } });
  await twin.seed.repo({ owner: 'alice', name: 'hidden', private: true });
  await twin.seed.repo({ owner: 'carol', name: 'elsewhere' });
  twin.seed.collaborator('alice/proj', 'bob', 'write');
  installationId = twin.seed.installation({ account: 'alice' }).id;
  otherInstallation = twin.seed.installation({ account: 'carol' }).id;
});

afterAll(async () => {
  await twin?.close();
  await new Promise<void>((r) => (receiver ? receiver.close(() => r()) : r()));
  if (work) await rm(work, { recursive: true, force: true });
});

describe('git over smart HTTP', () => {
  it('clones, pushes a branch as the app, and records the pusher', async () => {
    const { token } = twin.createInstallationToken(installationId);
    const c = await cloneAs('alice/proj', token, 'app-clone');
    expect(c.code, c.stderr).toBe(0);
    expect(await readFile(join(c.dir, 'a.txt'), 'utf8')).toBe('a\n');
    await git(['checkout', '-q', '-b', 'pullwright/issue-1'], c.dir);
    const sha = await commitFile(c.dir, 'b.txt', 'b\n', 'Add b');
    const push = await git(['push', '-q', 'origin', 'pullwright/issue-1'], c.dir);
    expect(push.code, push.stderr).toBe(0);
    expect((await twin.inspect.branches('alice/proj'))['pullwright/issue-1']).toBe(sha);
    const commits = await twin.inspect.commits('alice/proj', 'pullwright/issue-1');
    expect(commits[0]).toMatchObject({ sha, message: 'Add b', authorName: 'Tester' });
    const pushRec = twin.inspect.pushes('alice/proj').find((p) => p.ref === 'refs/heads/pullwright/issue-1');
    expect(pushRec?.pusher).toEqual({ kind: 'installation', installationId, login: twin.app.botLogin });
    expect(pushRec?.before).toBe('0000000000000000000000000000000000000000');
  });

  it('clones without the .git suffix and fetches new commits', async () => {
    const { token } = twin.createInstallationToken(installationId);
    const dir = join(work, 'no-suffix');
    const url = twin.gitUrl('alice/proj', token).replace(/\.git$/, '');
    expect((await git(['clone', '-q', url, dir])).code).toBe(0);
    const { sha } = await twin.seed.branch({ repo: 'alice/proj', branch: 'main', files: { 'c.txt': 'c\n' } });
    const fetched = await git(['fetch', '-q', 'origin'], dir);
    expect(fetched.code, fetched.stderr).toBe(0);
    expect((await git(['rev-parse', 'origin/main'], dir)).stdout.trim()).toBe(sha);
  });

  it('refuses pushes without a token, with a bad token, and with a read-only token', async () => {
    const { token } = twin.createInstallationToken(installationId);
    const c = await cloneAs('alice/proj', token, 'refused');
    await git(['checkout', '-q', '-b', 'nope'], c.dir);
    await commitFile(c.dir, 'x.txt', 'x\n', 'x');
    const anonymous = await git(['push', '-q', twin.gitUrl('alice/proj'), 'nope'], c.dir);
    expect(anonymous.code).not.toBe(0);
    const bad = await git(
      ['push', '-q', twin.gitUrl('alice/proj', 'ghs_notarealtoken000000000000'), 'nope'],
      c.dir,
    );
    expect(bad.code).not.toBe(0);
    const readOnly = twin.createInstallationToken(installationId, {
      permissions: { contents: 'read' },
    }).token;
    const ro = await git(['push', '-q', twin.gitUrl('alice/proj', readOnly), 'nope'], c.dir);
    expect(ro.code).not.toBe(0);
    const expired = twin.createInstallationToken(installationId, { ttlSeconds: 0 }).token;
    expect((await git(['push', '-q', twin.gitUrl('alice/proj', expired), 'nope'], c.dir)).code).not.toBe(0);
    expect((await twin.inspect.branches('alice/proj')).nope).toBeUndefined();
    const statuses = twin.inspect
      .requests()
      .filter((r) => r.path.endsWith('/info/refs') && r.query.includes('receive-pack'))
      .map((r) => `${r.authKind}:${r.status}`);
    expect(statuses).toEqual(expect.arrayContaining(['none:401', 'invalid:401', 'installation:403']));
  });

  it("refuses a private clone without auth and another installation's token", async () => {
    expect((await cloneAs('alice/hidden', undefined, 'anon-hidden')).code).not.toBe(0);
    const other = twin.createInstallationToken(otherInstallation).token;
    expect((await cloneAs('alice/hidden', other, 'other-hidden')).code).not.toBe(0);
    const rec = twin.inspect.requests().find((r) => r.installationId === otherInstallation && r.outOfScope);
    expect(rec?.status).toBe(404);
    const own = twin.createInstallationToken(installationId).token;
    expect((await cloneAs('alice/hidden', own, 'own-hidden')).code).toBe(0);
  });

  it('a person can push with their own token; the pusher is that person', async () => {
    const c = await cloneAs('alice/proj', bobToken, 'bob-clone');
    expect(c.code, c.stderr).toBe(0);
    await git(['checkout', '-q', '-b', 'bob-branch'], c.dir);
    await commitFile(c.dir, 'bob.txt', 'bob\n', 'Bob was here');
    expect((await git(['push', '-q', 'origin', 'bob-branch'], c.dir)).code).toBe(0);
    const rec = twin.inspect.pushes('alice/proj').find((p) => p.ref === 'refs/heads/bob-branch');
    expect(rec?.pusher).toEqual({ kind: 'user', login: 'bob' });
  });

  it('a push to a PR head updates the PR and sends push and pull_request.synchronize', async () => {
    await twin.seed.branch({ repo: 'alice/proj', branch: 'feature', files: { 'f.txt': 'one\n' } });
    const { number } = await twin.seed.pullRequest({
      repo: 'alice/proj',
      head: 'feature',
      title: 'F',
      author: 'bob',
    });
    const before = twin.inspect.pull('alice/proj', number)!.headSha;
    const { token } = twin.createInstallationToken(installationId);
    const c = await cloneAs('alice/proj', token, 'pr-clone');
    await git(['checkout', '-q', 'feature'], c.dir);
    const sha = await commitFile(c.dir, 'f.txt', 'two\n', 'Address review');
    expect((await git(['push', '-q', 'origin', 'feature'], c.dir)).code).toBe(0);
    expect(twin.inspect.pull('alice/proj', number)?.headSha).toBe(sha);
    expect(await twin.inspect.diff('alice/proj', number)).toContain('+two');
    const viaApi = await fetch(`${twin.url}/repos/alice/proj/pulls/${number}`, {
      headers: { authorization: `token ${token}`, accept: 'application/vnd.github.diff' },
    });
    expect(viaApi.status).toBe(200);
    expect(await viaApi.text()).toBe(await twin.inspect.diff('alice/proj', number));
    await twin.settled();
    const push = received.find((r) => r.event === 'push' && r.body.after === sha);
    expect(push?.body).toMatchObject({ ref: 'refs/heads/feature', before });
    const sync = received.find((r) => r.event === 'pull_request' && r.body.action === 'synchronize');
    expect(sync?.body).toMatchObject({ number, before, after: sha });
    expect((sync!.body.pull_request as { head: { sha: string } }).head.sha).toBe(sha);
  });

  it('inflates gzip request bodies (protocol v2 ls-refs)', async () => {
    const { token } = twin.createInstallationToken(installationId);
    const pkt = (s: string) => `${(s.length + 4).toString(16).padStart(4, '0')}${s}`;
    const body = `${pkt('command=ls-refs\n')}0001${pkt('ref-prefix refs/heads/main\n')}0000`;
    const res = await fetch(`${twin.url}/alice/proj.git/git-upload-pack`, {
      method: 'POST',
      headers: {
        authorization: `Basic ${Buffer.from(`x-access-token:${token}`).toString('base64')}`,
        'content-type': 'application/x-git-upload-pack-request',
        'content-encoding': 'gzip',
        'git-protocol': 'version=2',
      },
      body: gzipSync(Buffer.from(body)),
    });
    expect(res.status).toBe(200);
    const text = await res.text();
    const main = (await twin.inspect.branches('alice/proj')).main;
    expect(text).toContain(`${main} refs/heads/main`);
  });

  it('served repos never run hooks, even one planted in the bare repo', async () => {
    const dataDir = join(work, 'hook-twin-data');
    const t = await startGitHubTwin({ dataDir });
    try {
      t.seed.user({ login: 'hana' });
      await t.seed.repo({ owner: 'hana', name: 'r' });
      const id = t.seed.installation({ account: 'hana' }).id;
      const marker = join(work, 'hook-ran');
      const hook = join(dataDir, 'repos', 'hana', 'r.git', 'hooks', 'pre-receive');
      await mkdir(join(dataDir, 'repos', 'hana', 'r.git', 'hooks'), { recursive: true });
      await writeFile(hook, `#!/bin/sh\ntouch ${marker}\nexit 1\n`, { mode: 0o755 });
      const { token } = t.createInstallationToken(id);
      const dir = join(work, 'hook-clone');
      expect((await git(['clone', '-q', t.gitUrl('hana/r', token), dir])).code).toBe(0);
      await commitFile(dir, 'h.txt', 'h\n', 'hook attempt');
      const push = await git(['push', '-q', 'origin', 'HEAD:refs/heads/hooky'], dir);
      // A running pre-receive hook would have rejected the push (exit 1) and left the marker.
      expect(push.code, push.stderr).toBe(0);
      await expect(access(marker)).rejects.toThrow();
      expect(await t.inspect.file('hana/r', 'hooky', 'h.txt')).toBe('h\n');
    } finally {
      await t.close();
    }
  });
});
