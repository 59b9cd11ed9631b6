import { randomBytes } from 'node:crypto';
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
