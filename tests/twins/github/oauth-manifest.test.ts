import { createHmac, createSign, randomBytes } from 'node:crypto';
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startGitHubTwin } from './index.js';
import { loadOpenApi, type OpenApiValidator } from './openapi.js';
import { twinOAuthClient } from './routes-oauth.js';
import { s256, twinSignInCookie } from './twin-web.js';
import type { GitHubTwin } from './types.js';

/**
 * The twin's sign-in (OAuth user authorization for GitHub Apps) and app-registration (manifest)
 * routes, driven over HTTP like a browser and an app would; every REST answer the OpenAPI
 * description documents is validated against it.
 */

let api: OpenApiValidator;
let twin: GitHubTwin;
let bobToken: string;
const CALLBACK = 'http://127.0.0.1:9/auth/callback';

async function web(path: string, init: RequestInit & { cookie?: string } = {}) {
  const headers = new Headers(init.headers);
  if (init.cookie) headers.set('cookie', init.cookie);
  return fetch(new URL(path, twin.url), { ...init, headers, redirect: 'manual' });
}

async function rest(method: string, template: string, path: string, token: string | null, expected: number) {
  const res = await fetch(`${twin.url}${path}`, {
    method,
    headers: {
      accept: 'application/vnd.github+json',
      ...(token ? { authorization: `Bearer ${token}` } : {}),
    },
  });
  const json: unknown = await res.json();
  expect(res.status, JSON.stringify(json).slice(0, 300)).toBe(expected);
  const v = api.validate(method, template, res.status, json);
  if (v.documented) expect(v.ok, `${method} ${template} ${res.status}: ${v.errors}`).toBe(true);
  else expect(api.validateComponent('basic-error', json).ok).toBe(true);
  return json as Record<string, unknown>;
}

function cookieOf(res: Response): string {
  return (res.headers.get('set-cookie') ?? '').split(';')[0]!;
}

/** authorize → (signed in) → code in the redirect; returns the code and the redirect's state. */
async function authorizeAs(cookie: string, extra: Record<string, string> = {}) {
  const { clientId } = twinOAuthClient(twin.url);
  const q = new URLSearchParams({ client_id: clientId, redirect_uri: CALLBACK, state: 'st-1', ...extra });
  let res = await web(`/login/oauth/authorize?${q}`, { cookie });
  if (res.status === 200) {
    // First time: the consent page; confirm it with its CSRF token.
    const html = await res.text();
    const token = /name="authenticity_token" value="([^"]+)"/.exec(html)![1]!;
    const form = new URLSearchParams({ ...Object.fromEntries(q), authenticity_token: token, authorize: '1' });
    res = await web('/login/oauth/authorize', {
      method: 'POST',
      cookie,
      headers: { 'content-type': 'application/x-www-form-urlencoded' },
      body: form.toString(),
    });
  }
  expect(res.status).toBe(302);
  const to = new URL(res.headers.get('location')!);
  return { code: to.searchParams.get('code'), state: to.searchParams.get('state'), to };
}

async function exchange(body: Record<string, string>, accept = 'application/json') {
  const res = await fetch(`${twin.url}/login/oauth/access_token`, {
    method: 'POST',
    headers: { accept, 'content-type': 'application/json' },
    body: JSON.stringify(body),
  });
  expect(res.status).toBe(200);
  return res;
}

beforeAll(async () => {
  api = loadOpenApi();
  twin = await startGitHubTwin();
  bobToken = twin.seed.user({ login: 'bob' }).token;
  twin.seed.user({ login: 'eve' });
  twin.seed.user({ login: 'alice' });
  await twin.seed.repo({ owner: 'alice', name: 'open' });
  await twin.seed.repo({ owner: 'alice', name: 'secret', private: true });
  twin.seed.installation({ account: 'alice' });
  twin.seed.collaborator('alice/secret', 'bob', 'write');
});
afterAll(() => twin.close());

describe('OAuth user authorization (sign in with GitHub)', () => {
  it('sends a person who is not signed in to the sign-in page, and back after signing in', async () => {
    const { clientId } = twinOAuthClient(twin.url);
    const q = new URLSearchParams({ client_id: clientId, redirect_uri: CALLBACK, state: 'xyz' });
    const first = await web(`/login/oauth/authorize?${q}`);
    expect(first.status).toBe(302);
    const login = first.headers.get('location')!;
    expect(login).toMatch(/^\/login\?return_to=/);
    const returnTo = new URL(login, twin.url).searchParams.get('return_to')!;

    const wrong = await web('/session', {
      method: 'POST',
      headers: { 'content-type': 'application/x-www-form-urlencoded' },
      body: new URLSearchParams({ login: 'bob', password: 'nope', return_to: returnTo }).toString(),
    });
    expect(wrong.status).toBe(401);
    expect(wrong.headers.get('set-cookie')).toBeNull();

    const signedIn = await web('/session', {
      method: 'POST',
      headers: { 'content-type': 'application/x-www-form-urlencoded' },
      body: new URLSearchParams({ login: 'bob', password: bobToken, return_to: returnTo }).toString(),
    });
    expect(signedIn.status).toBe(302);
    expect(signedIn.headers.get('location')).toBe(returnTo);
    expect(signedIn.headers.get('set-cookie')).toMatch(/HttpOnly; SameSite=Lax/);
    const { code, state } = await authorizeAs(cookieOf(signedIn));
    expect(code).toMatch(/^[0-9a-f]{20}$/);
    expect(state).toBe('st-1');
  });

  it('never redirects to an outside address after sign-in', async () => {
    const res = await web('/session', {
      method: 'POST',
      headers: { 'content-type': 'application/x-www-form-urlencoded' },
      body: new URLSearchParams({
        login: 'bob',
        password: bobToken,
        return_to: '//evil.example/x',
      }).toString(),
    });
    expect(res.headers.get('location')).toBe('/');
  });

  it('exchanges a code once for a user token that acts as the person, then refreshes it', async () => {
    const cookie = twinSignInCookie(twin.url, 'bob');
    const { code } = await authorizeAs(`${cookie.name}=${cookie.value}`);
    const client = twinOAuthClient(twin.url);
    const body = {
      client_id: client.clientId,
      client_secret: client.clientSecret,
      code: code!,
      redirect_uri: CALLBACK,
    };
    const tokens = (await (await exchange(body)).json()) as Record<string, string | number>;
    expect(tokens.access_token).toMatch(/^ghu_/);
    expect(tokens.refresh_token).toMatch(/^ghr_/);
    expect(tokens.token_type).toBe('bearer');
    expect(tokens.expires_in).toBe(28_800);
    // Single use: the same code again is refused (GitHub answers 200 with an error).
    expect(await (await exchange(body)).json()).toMatchObject({ error: 'bad_verification_code' });

    const me = await rest('GET', '/user', '/user', String(tokens.access_token), 200);
    expect(me.login).toBe('bob');
    const installs = await rest(
      'GET',
      '/user/installations',
      '/user/installations',
      String(tokens.access_token),
      200,
    );
    expect(installs.total_count).toBe(1);
    const instId = (installs.installations as { id: number }[])[0]!.id;
    const repos = await rest(
      'GET',
      '/user/installations/{installation_id}/repositories',
      `/user/installations/${instId}/repositories`,
      String(tokens.access_token),
      200,
    );
    const byName = Object.fromEntries(
      (repos.repositories as { full_name: string; permissions: Record<string, boolean> }[]).map((r) => [
        r.full_name,
        r.permissions,
      ]),
    );
    expect(byName['alice/secret']).toMatchObject({ push: true, admin: false, pull: true });
    expect(byName['alice/open']).toMatchObject({ push: false, pull: true });

    const refreshed = (await (
      await exchange({
        client_id: client.clientId,
        client_secret: client.clientSecret,
        grant_type: 'refresh_token',
        refresh_token: String(tokens.refresh_token),
      })
    ).json()) as Record<string, string>;
    expect(refreshed.access_token).toMatch(/^ghu_/);
    // Refresh tokens rotate: the old one is spent.
    expect(
      await (
        await exchange({
          client_id: client.clientId,
          client_secret: client.clientSecret,
          grant_type: 'refresh_token',
          refresh_token: String(tokens.refresh_token),
        })
      ).json(),
    ).toMatchObject({ error: 'bad_refresh_token' });
  });

  it('hides a private repository from a person without access (404), and lists nothing for them', async () => {
    const cookie = twinSignInCookie(twin.url, 'eve');
    const { code } = await authorizeAs(`${cookie.name}=${cookie.value}`);
    const client = twinOAuthClient(twin.url);
    const tokens = (await (
      await exchange({ client_id: client.clientId, client_secret: client.clientSecret, code: code! })
    ).json()) as Record<string, string>;
    const installs = await rest(
      'GET',
      '/user/installations',
      '/user/installations',
      tokens.access_token!,
      200,
    );
    const instId = [...(installs.installations as { id: number }[])][0]!.id;
    const repos = await rest(
      'GET',
      '/user/installations/{installation_id}/repositories',
      `/user/installations/${instId}/repositories`,
      tokens.access_token!,
      200,
    );
    expect((repos.repositories as { full_name: string }[]).map((r) => r.full_name)).toEqual(['alice/open']);
    await rest(
      'GET',
      '/user/installations/{installation_id}/repositories',
      '/user/installations/999999/repositories',
      tokens.access_token!,
      404,
    );
  });

  it('refuses wrong client secrets, foreign codes, PKCE mismatches and bad tokens', async () => {
    const client = twinOAuthClient(twin.url);
    const cookie = twinSignInCookie(twin.url, 'bob');
    const c = `${cookie.name}=${cookie.value}`;
    const { code } = await authorizeAs(c);
    const wrongSecret = await exchange(
      { client_id: client.clientId, client_secret: 'x', code: code! },
      '*/*',
    );
    // Without Accept: application/json the answer is form-encoded, like GitHub's.
    expect(new URLSearchParams(await wrongSecret.text()).get('error')).toBe('incorrect_client_credentials');

    const verifier = randomBytes(32).toString('base64url');
    const pkce = await authorizeAs(c, { code_challenge: s256(verifier), code_challenge_method: 'S256' });
    const bad = await exchange({
      client_id: client.clientId,
      client_secret: client.clientSecret,
      code: pkce.code!,
      code_verifier: 'wrong',
    });
    expect(await bad.json()).toMatchObject({ error: 'bad_verification_code' });
    const pkce2 = await authorizeAs(c, { code_challenge: s256(verifier), code_challenge_method: 'S256' });
    const good = await exchange({
      client_id: client.clientId,
      client_secret: client.clientSecret,
      code: pkce2.code!,
      code_verifier: verifier,
    });
    expect(((await good.json()) as { access_token: string }).access_token).toMatch(/^ghu_/);

    await rest('GET', '/user', '/user', 'ghu_notatoken', 401);
    await rest('GET', '/user', '/user', null, 401);
    // A personal token reads /user but cannot list the app's installations for the person.
    await rest('GET', '/user', '/user', bobToken, 200);
    await rest('GET', '/user/installations', '/user/installations', bobToken, 403);
  });

  it('refuses a consent form without the session CSRF token, and redirects a denied consent with access_denied', async () => {
    const client = twinOAuthClient(twin.url);
    twin.seed.user({ login: 'frank' });
    const cookie = twinSignInCookie(twin.url, 'frank');
    const c = `${cookie.name}=${cookie.value}`;
    const form = { client_id: client.clientId, redirect_uri: CALLBACK, state: 's', authorize: '1' };
    const forged = await web('/login/oauth/authorize', {
      method: 'POST',
      cookie: c,
      headers: { 'content-type': 'application/x-www-form-urlencoded' },
      body: new URLSearchParams({ ...form, authenticity_token: 'forged' }).toString(),
    });
    expect(forged.status).toBe(422);
    const page = await (
      await web(`/login/oauth/authorize?${new URLSearchParams(form)}`, { cookie: c })
    ).text();
    const token = /name="authenticity_token" value="([^"]+)"/.exec(page)![1]!;
    const denied = await web('/login/oauth/authorize', {
      method: 'POST',
      cookie: c,
      headers: { 'content-type': 'application/x-www-form-urlencoded' },
      body: new URLSearchParams({ ...form, authorize: '0', authenticity_token: token }).toString(),
    });
    expect(new URL(denied.headers.get('location')!).searchParams.get('error')).toBe('access_denied');
  });
});

function appJwt(pem: string, appId: number): string {
  const now = Math.floor(Date.now() / 1000);
  const enc = (o: object) => Buffer.from(JSON.stringify(o)).toString('base64url');
  const data = `${enc({ alg: 'RS256', typ: 'JWT' })}.${enc({ iat: now - 30, exp: now + 540, iss: appId })}`;
  return `${data}.${createSign('RSA-SHA256').update(data).sign(pem).toString('base64url')}`;
}

const form = (fields: Record<string, string>) => ({
  method: 'POST',
  headers: { 'content-type': 'application/x-www-form-urlencoded' },
  body: new URLSearchParams(fields).toString(),
});

describe('registering an app from a manifest', () => {
  let hooks: Server;
  let hookUrl = '';
  const received: { headers: Record<string, string | string[] | undefined>; body: string }[] = [];
  beforeAll(async () => {
    hooks = createServer((req, res) => {
      let body = '';
      req.on('data', (c: Buffer) => {
        body += c.toString('utf8');
      });
      req.on('end', () => {
        received.push({ headers: req.headers, body });
        res.end('ok');
      });
    });
    await new Promise<void>((r) => hooks.listen(0, '127.0.0.1', r));
    hookUrl = `http://127.0.0.1:${(hooks.address() as AddressInfo).port}/api/github/webhooks`;
  });
  afterAll(() => new Promise<void>((r) => hooks.close(() => r())));

  const manifest = () =>
    JSON.stringify({
      name: 'Pullwright Test',
      url: 'https://example.com/pullwright',
      hook_attributes: { url: hookUrl },
      redirect_url: 'http://127.0.0.1:9/setup/callback',
      callback_urls: ['http://127.0.0.1:9/auth/callback'],
      public: false,
      default_events: ['issues', 'issue_comment'],
      default_permissions: { contents: 'write', issues: 'write' },
    });

  it('signs the person in, asks for confirmation, then redirects with a one-time code and the state', async () => {
    const first = await web('/settings/apps/new?state=abc', form({ manifest: manifest() }));
    expect(first.status).toBe(200);
    expect(await first.text()).toContain('id="login_field"');
    const signed = await web(
      '/settings/apps/new?state=abc',
      form({ manifest: manifest(), login: 'bob', password: bobToken }),
    );
    expect(signed.status).toBe(200);
    const cookie = cookieOf(signed);
    const page = await signed.text();
    expect(page).toContain('Create GitHub App for bob');
    const csrf = /name="authenticity_token" value="([^"]+)"/.exec(page)![1]!;
    const forged = await web('/settings/apps/new?state=abc', {
      ...form({ manifest: manifest(), confirm: '1', authenticity_token: 'x' }),
      cookie,
    });
    expect(forged.status).toBe(422);
    const done = await web('/settings/apps/new?state=abc', {
      ...form({ manifest: manifest(), confirm: '1', authenticity_token: csrf }),
      cookie,
    });
    expect(done.status).toBe(302);
    const to = new URL(done.headers.get('location')!);
    expect(`${to.origin}${to.pathname}`).toBe('http://127.0.0.1:9/setup/callback');
    expect(to.searchParams.get('state')).toBe('abc');
    const code = to.searchParams.get('code')!;
    expect(code).toMatch(/^[0-9a-f]{40}$/);

    // The conversion: validated against GitHub's description (201), then the code is spent (404).
    const res = await fetch(`${twin.url}/app-manifests/${code}/conversions`, {
      method: 'POST',
      headers: { accept: 'application/vnd.github+json' },
    });
    expect(res.status).toBe(201);
    const app = (await res.json()) as Record<string, unknown> & {
      id: number;
      slug: string;
      pem: string;
      webhook_secret: string;
      client_id: string;
      client_secret: string;
    };
    const v = api.validate('POST', '/app-manifests/{code}/conversions', 201, app);
    expect(v.ok, v.errors).toBe(true);
    expect(app.slug).toBe('pullwright-test');
    expect(app.pem).toContain('BEGIN RSA PRIVATE KEY');
    expect((app.owner as { login: string }).login).toBe('bob');
    const again = await fetch(`${twin.url}/app-manifests/${code}/conversions`, { method: 'POST' });
    expect(again.status).toBe(404);
    expect(api.validate('POST', '/app-manifests/{code}/conversions', 404, await again.json()).ok).toBe(true);

    // The twin now is that app: its JWT works, the old key's does not.
    const me = await fetch(`${twin.url}/app`, {
      headers: { authorization: `Bearer ${appJwt(app.pem, app.id)}` },
    });
    expect(me.status).toBe(200);
    expect(await me.json()).toMatchObject({ id: app.id, slug: 'pullwright-test', client_id: app.client_id });
    const old = await fetch(`${twin.url}/app`, {
      headers: { authorization: `Bearer ${appJwt(twin.app.privateKey, twin.app.id)}` },
    });
    expect(old.status).toBe(401);

    // Webhooks go to the manifest's hook URL, signed with the new secret.
    await twin.actions.installApp({ account: 'bob', sender: 'bob' });
    await twin.settled();
    const delivery = received.at(-1)!;
    expect(delivery.headers['x-github-event']).toBe('installation');
    expect(delivery.headers['x-github-hook-installation-target-id']).toBe(String(app.id));
    const expected = `sha256=${createHmac('sha256', app.webhook_secret).update(delivery.body).digest('hex')}`;
    expect(delivery.headers['x-hub-signature-256']).toBe(expected);

    // Its OAuth client only accepts its registered callback URL.
    const c = twinSignInCookie(twin.url, 'bob');
    const q = new URLSearchParams({
      client_id: app.client_id,
      redirect_uri: 'http://evil.example/cb',
      state: 's',
    });
    const mismatch = await web(`/login/oauth/authorize?${q}`, { cookie: `${c.name}=${c.value}` });
    const back = new URL(mismatch.headers.get('location')!);
    expect(back.origin + back.pathname).toBe('http://127.0.0.1:9/auth/callback');
    expect(back.searchParams.get('error')).toBe('redirect_uri_mismatch');
  });

  it('refuses an invalid manifest, an unknown organization and an unknown code', async () => {
    const c = twinSignInCookie(twin.url, 'bob');
    const cookie = `${c.name}=${c.value}`;
    const bad = await web('/settings/apps/new', { ...form({ manifest: '{"name":"x"}' }), cookie });
    expect(bad.status).toBe(422);
    expect(await bad.text()).toContain('Url must be a valid URL');
    const org = await web('/organizations/nobody/settings/apps/new', {
      ...form({ manifest: manifest() }),
      cookie,
    });
    expect(org.status).toBe(404);
    const unknown = await fetch(`${twin.url}/app-manifests/${'0'.repeat(40)}/conversions`, {
      method: 'POST',
    });
    expect(unknown.status).toBe(404);
  });

  it('registers under an organization with /organizations/{org}/settings/apps/new', async () => {
    twin.seed.user({ login: 'acme', type: 'Organization' });
    const c = twinSignInCookie(twin.url, 'bob');
    const cookie = `${c.name}=${c.value}`;
    const page = await (
      await web('/organizations/acme/settings/apps/new?state=o', {
        ...form({ manifest: manifest() }),
        cookie,
      })
    ).text();
    expect(page).toContain('Create GitHub App for acme');
    const csrf = /name="authenticity_token" value="([^"]+)"/.exec(page)![1]!;
    const done = await web('/organizations/acme/settings/apps/new?state=o', {
      ...form({ manifest: manifest(), confirm: '1', authenticity_token: csrf }),
      cookie,
    });
    const code = new URL(done.headers.get('location')!).searchParams.get('code')!;
    const app = (await (
      await fetch(`${twin.url}/app-manifests/${code}/conversions`, { method: 'POST' })
    ).json()) as { owner: { login: string } };
    expect(app.owner.login).toBe('acme');
  });
});
