import { type ChildProcess, spawn } from 'node:child_process';
import { once } from 'node:events';
import { mkdtemp, readFile, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { retry } from '@octokit/plugin-retry';
import { Octokit } from '@octokit/rest';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { globToRegExp } from './faults.js';
import { startGitHubTwin } from './index.js';
import type { GitHubTwin } from './types.js';

let twin: GitHubTwin;
let token: string;

async function get(path: string) {
  const res = await fetch(`${twin.url}${path}`, { headers: { authorization: `token ${token}` } });
  const text = await res.text();
  return {
    status: res.status,
    headers: res.headers,
    json: text ? (JSON.parse(text) as Record<string, unknown>) : {},
  };
}

beforeAll(async () => {
  twin = await startGitHubTwin();
  twin.seed.user({ login: 'alice' });
  await twin.seed.repo({ owner: 'alice', name: 'f' });
  token = twin.createInstallationToken(twin.seed.installation({ account: 'alice' }).id).token;
  twin.seed.issue({ repo: 'alice/f', title: 'i', author: 'alice' });
});

afterAll(async () => {
  await twin?.close();
});

describe('fault injection', () => {
  it('globs match one segment with * and the rest with **', () => {
    expect(globToRegExp('/repos/*/*/pulls').test('/repos/a/b/pulls')).toBe(true);
    expect(globToRegExp('/repos/*/*/pulls').test('/repos/a/b/c/pulls')).toBe(false);
    expect(globToRegExp('/repos/**').test('/repos/a/b/issues/1/comments')).toBe(true);
  });

  it('a 500 with a count fires that many times, then the endpoint works again', async () => {
    twin.faults.clear();
    twin.faults.add({ method: 'GET', path: '/repos/*/*', kind: 'status', status: 500, times: 2 });
    expect((await get('/repos/alice/f')).status).toBe(500);
    expect((await get('/repos/alice/f')).status).toBe(500);
    expect((await get('/repos/alice/f')).status).toBe(200);
    expect((await get('/repos/alice/f/issues/1')).status).toBe(200);
    expect(twin.faults.list()[0]).toMatchObject({ fired: 2, times: 2 });
  });

  it('502, secondary rate limit and 429 carry GitHub-like bodies and retry-after', async () => {
    twin.faults.clear();
    twin.faults.add({ path: '/repos/alice/f/issues/1', kind: 'status', status: 502, times: 1 });
    expect((await get('/repos/alice/f/issues/1')).status).toBe(502);
    twin.faults.add({
      path: '/repos/alice/f/issues/1',
      kind: 'secondary-rate-limit',
      retryAfter: 7,
      times: 1,
    });
    const secondary = await get('/repos/alice/f/issues/1');
    expect(secondary.status).toBe(403);
    expect(String(secondary.json.message)).toMatch(/secondary rate limit/);
    expect(secondary.headers.get('retry-after')).toBe('7');
    twin.faults.add({ path: '/repos/alice/f/issues/1', kind: 'rate-limit', retryAfter: 3, times: 1 });
    const limited = await get('/repos/alice/f/issues/1');
    expect(limited.status).toBe(429);
    expect(limited.headers.get('retry-after')).toBe('3');
    expect((await get('/repos/alice/f/issues/1')).status).toBe(200);
  });

  it('latency delays the real answer; probability 0 never fires; method filters', async () => {
    twin.faults.clear();
    const slow = twin.faults.add({ path: '/repos/alice/f', kind: 'latency', latencyMs: 50 });
    twin.faults.add({ path: '**', kind: 'status', status: 500, probability: 0 });
    twin.faults.add({ method: 'POST', path: '**', kind: 'status', status: 500 });
    expect((await get('/repos/alice/f')).status).toBe(200);
    const rules = twin.faults.list();
    expect(rules.find((r) => r.id === slow)?.fired).toBe(1);
    expect(rules.map((r) => r.fired)).toEqual([1, 0, 0]);
    twin.faults.remove(slow);
    expect(twin.faults.list()).toHaveLength(2);
    twin.faults.clear();
  });

  it("a retrying Octokit client recovers from a transient 500 (the twin's faults are what clients see)", async () => {
    twin.faults.clear();
    twin.faults.add({
      method: 'GET',
      path: '/repos/alice/f/issues/1',
      kind: 'status',
      status: 500,
      times: 1,
    });
    const RetryingOctokit = Octokit.plugin(retry);
    const octokit = new RetryingOctokit({
      baseUrl: twin.url,
      auth: token,
      request: { retries: 2, retryAfter: 0 },
    });
    const { data } = await octokit.rest.issues.get({ owner: 'alice', repo: 'f', issue_number: 1 });
    expect(data.number).toBe(1);
    const statuses = twin.inspect
      .requests()
      .filter((r) => r.path === '/repos/alice/f/issues/1')
      .map((r) => r.status)
      .slice(-2);
    expect(statuses).toEqual([500, 200]);
  });

  it('is controllable over HTTP from another process, admin paths are never faulted', async () => {
    const add = await fetch(`${twin.url}/_twin/faults`, {
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body: JSON.stringify({ path: '^/repos/alice/f$', kind: 'status', status: 503, times: 1 }),
    });
    expect(add.status).toBe(201);
    twin.faults.add({ kind: 'status', status: 500 });
    expect((await fetch(`${twin.url}/_twin/faults`)).status).toBe(200);
    expect((await get('/repos/alice/f')).status).toBe(503);
    const cleared = await fetch(`${twin.url}/_twin/faults`, { method: 'DELETE' });
    expect(cleared.status).toBe(204);
    expect((await get('/repos/alice/f')).status).toBe(200);
  });
});

describe('admin endpoints', () => {
  it('seed, act, inspect state and redeliver over HTTP', async () => {
    const post = async (path: string, body: unknown) => {
      const res = await fetch(`${twin.url}${path}`, {
        method: 'POST',
        headers: { 'content-type': 'application/json' },
        body: JSON.stringify(body),
      });
      return { status: res.status, json: (await res.json()) as Record<string, unknown> };
    };
    const seeded = await post('/_twin/seed', {
      users: [{ login: 'http-user' }],
      repos: [{ owner: 'http-user', name: 'via-http', files: { 'x.md': 'x\n' } }],
      installations: [{ account: 'http-user' }],
      issues: [{ repo: 'http-user/via-http', title: 'From HTTP', author: 'http-user' }],
    });
    expect(seeded.status).toBe(200);
    const acted = await post('/_twin/actions/commentOnIssue', {
      repo: 'http-user/via-http',
      number: 1,
      body: 'hello',
      sender: 'http-user',
    });
    expect(acted.status).toBe(200);
    expect(typeof acted.json.commentId).toBe('number');
    const delivery = acted.json.delivery as { id: string; event: string };
    expect(delivery.event).toBe('issue_comment');
    const again = await post(`/_twin/deliveries/${delivery.id}/redeliver`, {});
    expect(again.json).toMatchObject({ id: delivery.id, redelivery: true });
    const state = (await (await fetch(`${twin.url}/_twin/state`)).json()) as {
      repos: { fullName: string; comments: { body: string }[] }[];
    };
    expect(state.repos.find((r) => r.fullName === 'http-user/via-http')?.comments.map((c) => c.body)).toEqual(
      ['hello'],
    );
    await post('/_twin/seed', { users: [{ login: 'rev' }] });
    await twin.seed.branch({ repo: 'http-user/via-http', branch: 'b', files: { 'y.md': 'y\n' } });
    const pr = await twin.seed.pullRequest({
      repo: 'http-user/via-http',
      head: 'b',
      title: 'B',
      author: 'rev',
    });
    const { threadId } = twin.seed.reviewThread({
      repo: 'http-user/via-http',
      number: pr.number,
      path: 'y.md',
      line: 1,
      comments: [{ author: 'rev', body: 'nit' }],
    });
    expect((await post('/_twin/resolve-thread', { threadId })).json).toEqual({ threadId, resolved: true });
    expect((await post('/_twin/resolve-thread', { threadId: 'nope' })).status).toBe(404);
    expect((await post('/_twin/actions/notAnAction', {})).status).toBe(404);
    const unknownRepo = await post('/_twin/actions/openIssue', {
      repo: 'nobody/none',
      title: 't',
      sender: 'x',
    });
    expect(unknownRepo.status).toBe(404);
    expect(unknownRepo.json).toMatchObject({ code: 'not_found', message: 'Unknown repo nobody/none' });
    expect((await post('/_twin/actions/constructor', {})).status).toBe(404);
  });

  it('npm run twin:github starts standalone with the sample and prints URL, app id and key path', async () => {
    let child: ChildProcess | undefined;
    const dir = await mkdtemp(join(tmpdir(), 'gh-twin-main-'));
    try {
      child = spawn(process.execPath, ['--import', 'tsx', 'tests/twins/github/main.ts', '--sample'], {
        env: { ...process.env, GITHUB_TWIN_PORT: '0', GITHUB_TWIN_KEY_PATH: join(dir, 'app.pem') },
        stdio: ['ignore', 'pipe', 'pipe'],
      });
      let out = '';
      const url = await new Promise<string>((resolve, reject) => {
        child!.stdout!.on('data', (d: Buffer) => {
          out += d.toString();
          const m = /listening on (http:\/\/\S+)/.exec(out);
          if (m && /private key written to/.test(out)) resolve(m[1]!);
        });
        child!.on('exit', (code) => reject(new Error(`twin exited ${code}: ${out}`)));
      });
      expect(out).toMatch(/App id: \d+/);
      expect(await readFile(join(dir, 'app.pem'), 'utf8')).toMatch(/BEGIN RSA PRIVATE KEY/);
      const res = await fetch(`${url}/repos/octo-owner/sample-repo/contents/sum.js`, {
        headers: { accept: 'application/vnd.github.raw' },
      });
      expect(res.status).toBe(200);
      expect(await res.text()).toContain('export function sum');
      const issue = await fetch(`${url}/repos/octo-owner/sample-repo/issues/1`);
      expect(((await issue.json()) as { title: string }).title).toMatch(/sum/);
    } finally {
      // Wait for the twin to exit: its SIGTERM handler removes its data dir, which must not outlive the test.
      if (child && child.exitCode === null && child.signalCode === null) {
        const exited = once(child, 'exit');
        child.kill('SIGTERM');
        await exited;
      }
      await rm(dir, { recursive: true, force: true });
    }
  }, 180_000);
});
