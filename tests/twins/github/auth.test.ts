import { createSign, generateKeyPairSync } from 'node:crypto';
import { createAppAuth } from '@octokit/auth-app';
import { Octokit } from '@octokit/rest';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startGitHubTwin } from './index.js';
import type { GitHubTwin } from './types.js';

let twin: GitHubTwin;
let aliceInstallation: number;
let daveInstallation: number;

function signJwt(privateKey: string, claims: Record<string, unknown>): string {
  const enc = (o: object) => Buffer.from(JSON.stringify(o)).toString('base64url');
  const data = `${enc({ alg: 'RS256', typ: 'JWT' })}.${enc(claims)}`;
  return `${data}.${createSign('RSA-SHA256').update(data).sign(privateKey).toString('base64url')}`;
}

function nowSeconds(): number {
  return Math.floor(Date.now() / 1000);
}

async function get(path: string, authorization?: string) {
  const res = await fetch(`${twin.url}${path}`, {
    headers: authorization ? { authorization, accept: 'application/vnd.github+json' } : {},
  });
  return { status: res.status, json: (await res.json()) as Record<string, unknown> };
}

beforeAll(async () => {
  twin = await startGitHubTwin({ appId: 4242, appSlug: 'auth-test-app' });
  twin.seed.user({ login: 'alice' });
  twin.seed.user({ login: 'dave' });
  await twin.seed.repo({ owner: 'alice', name: 'one' });
  await twin.seed.repo({ owner: 'alice', name: 'two', private: true });
  await twin.seed.repo({ owner: 'dave', name: 'theirs', private: true });
  aliceInstallation = twin.seed.installation({ account: 'alice' }).id;
  daveInstallation = twin.seed.installation({ account: 'dave' }).id;
  twin.seed.issue({ repo: 'alice/one', title: 'hello', author: 'alice' });
});

afterAll(async () => {
  await twin?.close();
});

describe('app JWT', () => {
  it('a real @octokit/rest with @octokit/auth-app goes JWT → installation token → REST', async () => {
    const octokit = new Octokit({
      baseUrl: twin.url,
      authStrategy: createAppAuth,
      auth: { appId: twin.app.id, privateKey: twin.app.privateKey, installationId: aliceInstallation },
    });
    const repo = await octokit.rest.repos.get({ owner: 'alice', repo: 'two' });
    expect(repo.data.full_name).toBe('alice/two');
    expect(repo.data.private).toBe(true);
    const { data: app } = await new Octokit({
      baseUrl: twin.url,
      authStrategy: createAppAuth,
      auth: { appId: twin.app.id, privateKey: twin.app.privateKey },
    }).rest.apps.getAuthenticated();
    expect(app?.slug).toBe('auth-test-app');
    const kinds = twin.inspect.requests().map((r) => `${r.method} ${r.path} ${r.authKind} ${r.status}`);
    expect(kinds).toContain(`POST /app/installations/${aliceInstallation}/access_tokens jwt 201`);
    expect(kinds).toContain('GET /repos/alice/two installation 200');
  });

  it('refuses an expired JWT, a JWT signed with another key, a wrong issuer and a too long lifetime', async () => {
    const now = nowSeconds();
    const otherKey = generateKeyPairSync('rsa', {
      modulusLength: 2048,
      privateKeyEncoding: { type: 'pkcs1', format: 'pem' },
      publicKeyEncoding: { type: 'spki', format: 'pem' },
    }).privateKey;
    const cases = [
      signJwt(twin.app.privateKey, { iat: now - 700, exp: now - 100, iss: twin.app.id }),
      signJwt(otherKey, { iat: now - 30, exp: now + 500, iss: twin.app.id }),
      signJwt(twin.app.privateKey, { iat: now - 30, exp: now + 500, iss: 999 }),
      signJwt(twin.app.privateKey, { iat: now - 30, exp: now + 3600, iss: twin.app.id }),
      signJwt(twin.app.privateKey, { iat: now + 600, exp: now + 900, iss: twin.app.id }),
    ];
    for (const jwt of cases) {
      const res = await get('/app', `Bearer ${jwt}`);
      expect(res.status).toBe(401);
      expect(res.json).toMatchObject({ message: 'Bad credentials', status: '401' });
      expect(typeof res.json.documentation_url).toBe('string');
    }
    const good = signJwt(twin.app.privateKey, { iat: now - 30, exp: now + 540, iss: String(twin.app.id) });
    expect((await get('/app', `Bearer ${good}`)).status).toBe(200);
  });

  it('needs a JWT (not an installation token) for app endpoints', async () => {
    const { token } = twin.createInstallationToken(aliceInstallation);
    expect((await get('/app/installations', `token ${token}`)).status).toBe(401);
    expect((await get('/app/installations')).status).toBe(401);
  });
});

describe('installation tokens', () => {
  it('accepts both "token X" and "Bearer X"', async () => {
    const { token } = twin.createInstallationToken(aliceInstallation);
    expect((await get('/repos/alice/two', `token ${token}`)).status).toBe(200);
    expect((await get('/repos/alice/two', `Bearer ${token}`)).status).toBe(200);
  });

  it('an expired token gets 401 Bad credentials', async () => {
    const { token, expiresAt } = twin.createInstallationToken(aliceInstallation, { ttlSeconds: 0 });
    expect(Date.parse(expiresAt)).toBeLessThanOrEqual(Date.now());
    const res = await get('/repos/alice/one', `token ${token}`);
    expect(res.status).toBe(401);
    expect(res.json.message).toBe('Bad credentials');
  });

  it('the default lifetime is the configured TTL', async () => {
    const { expiresAt } = twin.createInstallationToken(aliceInstallation);
    const seconds = (Date.parse(expiresAt) - Date.now()) / 1000;
    expect(seconds).toBeGreaterThan(3500);
    expect(seconds).toBeLessThanOrEqual(3600);
  });

  it("a token used on another installation's repo gets 404 and is recorded as out of scope", async () => {
    const { token } = twin.createInstallationToken(aliceInstallation);
    const res = await get('/repos/dave/theirs', `token ${token}`);
    expect(res.status).toBe(404);
    expect(res.json).toMatchObject({ message: 'Not Found', status: '404' });
    const rec = twin.inspect.requests().find((r) => r.path === '/repos/dave/theirs');
    expect(rec).toMatchObject({
      authKind: 'installation',
      installationId: aliceInstallation,
      outOfScope: true,
    });
    const own = twin.createInstallationToken(daveInstallation).token;
    expect((await get('/repos/dave/theirs', `token ${own}`)).status).toBe(200);
  });

  it('narrows tokens to repositories and permissions, and refuses widening', async () => {
    const jwt = signJwt(twin.app.privateKey, {
      iat: nowSeconds() - 30,
      exp: nowSeconds() + 540,
      iss: twin.app.id,
    });
    const mint = async (body: unknown) => {
      const res = await fetch(`${twin.url}/app/installations/${aliceInstallation}/access_tokens`, {
        method: 'POST',
        headers: { authorization: `Bearer ${jwt}`, 'content-type': 'application/json' },
        body: JSON.stringify(body),
      });
      return { status: res.status, json: (await res.json()) as Record<string, unknown> };
    };
    const narrowed = await mint({ repositories: ['one'], permissions: { issues: 'read' } });
    expect(narrowed.status).toBe(201);
    expect(narrowed.json.permissions).toEqual({ issues: 'read', metadata: 'read' });
    const t = String(narrowed.json.token);
    expect((await get('/repos/alice/one', `token ${t}`)).status).toBe(200);
    expect((await get('/repos/alice/two', `token ${t}`)).status).toBe(404);
    const comment = await fetch(`${twin.url}/repos/alice/one/issues/1/comments`, {
      method: 'POST',
      headers: { authorization: `token ${t}`, 'content-type': 'application/json' },
      body: JSON.stringify({ body: 'hi' }),
    });
    expect(comment.status).toBe(403);
    expect(((await comment.json()) as { message: string }).message).toBe(
      'Resource not accessible by integration',
    );
    const two = await get(
      `/repos/alice/two`,
      `token ${String((await mint({ repository_ids: [] })).json.token)}`,
    );
    expect(two.status).toBe(404);
    const byId = await mint({
      repository_ids: [
        (await get('/repos/alice/two', `token ${twin.createInstallationToken(aliceInstallation).token}`)).json
          .id,
      ],
    });
    expect(byId.status).toBe(201);
    expect((byId.json.repositories as { full_name: string }[]).map((r) => r.full_name)).toEqual([
      'alice/two',
    ]);
    expect((await mint({ repositories: ['theirs'] })).status).toBe(422);
    expect((await mint({ permissions: { administration: 'write' } })).status).toBe(422);
  });

  it('uninstalling revokes the installation tokens', async () => {
    const t = await startGitHubTwin();
    try {
      t.seed.user({ login: 'erin' });
      await t.seed.repo({ owner: 'erin', name: 'r' });
      const id = t.seed.installation({ account: 'erin' }).id;
      const { token } = t.createInstallationToken(id);
      const before = await fetch(`${t.url}/repos/erin/r`, { headers: { authorization: `token ${token}` } });
      expect(before.status).toBe(200);
      await t.actions.uninstall({ installationId: id, sender: 'erin' });
      const after = await fetch(`${t.url}/repos/erin/r`, { headers: { authorization: `token ${token}` } });
      expect(after.status).toBe(401);
    } finally {
      await t.close();
    }
  });
});

describe('people', () => {
  it('a personal token sees what the person may see; anonymous sees public repos only', async () => {
    const bob = twin.seed.user({ login: 'bob-auth' });
    expect((await get('/repos/alice/two', `token ${bob.token}`)).status).toBe(404);
    twin.seed.collaborator('alice/two', 'bob-auth', 'read');
    expect((await get('/repos/alice/two', `token ${bob.token}`)).status).toBe(200);
    expect((await get('/repos/alice/one')).status).toBe(200);
    expect((await get('/repos/alice/two')).status).toBe(404);
    expect((await get('/repos/alice/one', 'token ghp_not_a_real_token')).status).toBe(401);
  });
});
