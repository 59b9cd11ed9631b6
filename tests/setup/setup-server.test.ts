import { mkdtemp, readFile, rm, stat, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { parseEnv } from 'node:util';
import { afterAll, afterEach, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import { createSilentLogger } from '../../src/logger.js';
import { buildAppManifest, readAppYml } from '../../src/setup/app-manifest.js';
import { formatEnvValue, updateEnvFile } from '../../src/setup/env-file.js';
import { type SetupServer, startSetupServer } from '../../src/setup/setup-server.js';
import { startGitHubTwin } from '../twins/github/index.js';
import { twinSignInCookie } from '../twins/github/twin-web.js';
import type { GitHubTwin } from '../twins/github/types.js';

/**
 * The setup server's guards, over HTTP against the twin: the token from the log, the one-time
 * state, no overwrite of an existing app, and the .env it writes.
 */

const APP_YML = join(import.meta.dirname, '..', '..', 'app.yml');
const TOKEN = 'test-setup-token-0123456789';
let twin: GitHubTwin;
let dir: string;
let server: SetupServer;

beforeAll(async () => {
  twin = await startGitHubTwin();
  twin.seed.user({ login: 'owner' });
});
afterAll(() => twin.close());
beforeEach(async () => {
  dir = await mkdtemp(join(tmpdir(), 'pw-setup-unit-'));
  server = await startSetupServer({
    host: '127.0.0.1',
    port: 0,
    envPath: join(dir, '.env'),
    appYmlPath: APP_YML,
    webUrl: twin.url,
    apiUrl: twin.url,
    log: createSilentLogger(),
    token: TOKEN,
    extraEnv: { GITHUB_API_URL: twin.url },
  });
});
afterEach(async () => {
  await server.close();
  await rm(dir, { recursive: true, force: true });
});

const cookie = `pullwright_setup=${TOKEN}`;

async function get(path: string, withCookie = true) {
  return fetch(`${server.url}${path}`, { headers: withCookie ? { cookie } : {}, redirect: 'manual' });
}

/** Opens the page, and returns the state and manifest of its form. */
async function openSetup(): Promise<{ state: string; manifest: string }> {
  const html = await (await get('/setup')).text();
  const state = /action="\/setup\/register\?state=([0-9a-f]+)"/.exec(html)![1]!;
  const manifest = /name="manifest" value="([^"]+)"/
    .exec(html)![1]!
    .replace(/&#(\d+);/g, (_, n) => String.fromCharCode(Number(n)));
  return { state, manifest };
}

/** What the browser does on GitHub: post the manifest, confirm, follow the redirect's code. */
async function codeFromTwin(manifest: string, state: string): Promise<string> {
  const c = twinSignInCookie(twin.url, 'owner');
  const twinCookie = `${c.name}=${c.value}`;
  const post = (fields: Record<string, string>) =>
    fetch(`${twin.url}/settings/apps/new?state=${state}`, {
      method: 'POST',
      headers: { 'content-type': 'application/x-www-form-urlencoded', cookie: twinCookie },
      body: new URLSearchParams(fields).toString(),
      redirect: 'manual',
    });
  const page = await (await post({ manifest })).text();
  const csrf = /name="authenticity_token" value="([^"]+)"/.exec(page)![1]!;
  const done = await post({ manifest, confirm: '1', authenticity_token: csrf });
  const to = new URL(done.headers.get('location')!);
  expect(to.searchParams.get('state')).toBe(state);
  return to.searchParams.get('code')!;
}

describe('setup server', () => {
  it('asks for the token from the log, and trades it for an HttpOnly cookie', async () => {
    expect((await get('/setup', false)).status).toBe(403);
    expect((await get('/setup?token=wrong', false)).status).toBe(403);
    const ok = await get(`/setup?token=${TOKEN}`, false);
    expect(ok.status).toBe(303);
    expect(ok.headers.get('location')).toBe('/setup');
    expect(ok.headers.get('set-cookie')).toMatch(/^pullwright_setup=.+; Path=\/; HttpOnly; SameSite=Lax$/);
    const page = await get('/setup');
    expect(page.status).toBe(200);
    expect(page.headers.get('content-security-policy')).toContain(`form-action 'self' ${twin.url}`);
    expect(page.headers.get('content-security-policy')).toContain("default-src 'none'");
  });

  it('posts the manifest on to GitHub keeping the body (307), for an account or an organization', async () => {
    const { state, manifest } = await openSetup();
    const body = new URLSearchParams({ manifest, organization: 'acme' }).toString();
    const res = await fetch(`${server.url}/setup/register?state=${state}`, {
      method: 'POST',
      headers: { cookie, 'content-type': 'application/x-www-form-urlencoded' },
      body,
      redirect: 'manual',
    });
    expect(res.status).toBe(307);
    expect(res.headers.get('location')).toBe(
      `${twin.url}/organizations/acme/settings/apps/new?state=${state}`,
    );
    const stale = await fetch(`${server.url}/setup/register?state=nope`, {
      method: 'POST',
      headers: { cookie },
      body,
      redirect: 'manual',
    });
    expect(stale.status).toBe(400);
    const bad = await fetch(`${server.url}/setup/register?state=${state}`, {
      method: 'POST',
      headers: { cookie, 'content-type': 'application/x-www-form-urlencoded' },
      body: new URLSearchParams({ manifest, organization: '../evil' }).toString(),
      redirect: 'manual',
    });
    expect(bad.status).toBe(400);
  });

  it('converts the code, writes .env 0600 once, and refuses the state a second time', async () => {
    const { state, manifest } = await openSetup();
    const code = await codeFromTwin(manifest, state);
    // A callback without the setup cookie (a link someone else sent) is refused.
    expect((await get(`/setup/callback?code=${code}&state=${state}`, false)).status).toBe(403);
    const res = await get(`/setup/callback?code=${code}&state=${state}`);
    expect(res.status).toBe(200);
    expect(await res.text()).toContain('Pullwright is registered');
    const app = await server.registered;
    const envPath = join(dir, '.env');
    expect((await stat(envPath)).mode & 0o777).toBe(0o600);
    const env = parseEnv(await readFile(envPath, 'utf8'));
    expect(env).toMatchObject({ APP_ID: String(app.id), APP_SLUG: app.slug, GITHUB_API_URL: twin.url });
    expect(env.PRIVATE_KEY).toBe(app.pem);
    // The same state again: refused (one-time), never a second conversion.
    expect((await get(`/setup/callback?code=${code}&state=${state}`)).status).toBe(403);
  });

  it('never overwrites an .env that already names an app, and keeps its other lines', async () => {
    await writeFile(join(dir, '.env'), '# mine\nAPP_ID=42\nREDIS_PASSWORD=keep\n', { mode: 0o644 });
    const { state, manifest } = await openSetup();
    const code = await codeFromTwin(manifest, state);
    const res = await get(`/setup/callback?code=${code}&state=${state}`);
    expect(res.status).toBe(409);
    expect(await readFile(join(dir, '.env'), 'utf8')).toBe('# mine\nAPP_ID=42\nREDIS_PASSWORD=keep\n');
  });

  it('refuses a code GitHub does not know (expired or used)', async () => {
    const { state } = await openSetup();
    const res = await get(`/setup/callback?code=${'a'.repeat(40)}&state=${state}`);
    expect(res.status).toBe(502);
    expect(await res.text()).toContain('used, expired');
  });
});

describe('.env writing', () => {
  it('replaces keys in place, appends new ones, escapes multi-line values and ends 0600', async () => {
    const path = join(dir, '.env');
    await writeFile(path, '# comment\nFOO=1\nexport BAR=2\n', { mode: 0o644 });
    await updateEnvFile(path, { BAR: 'two "words"', KEY: '-----BEGIN X-----\nabc\n-----END X-----\n' });
    const text = await readFile(path, 'utf8');
    expect(text).toBe(
      `# comment\nFOO=1\nBAR='two "words"'\nKEY="-----BEGIN X-----\\nabc\\n-----END X-----\\n"\n`,
    );
    expect(parseEnv(text)).toMatchObject({
      BAR: 'two "words"',
      KEY: '-----BEGIN X-----\nabc\n-----END X-----\n',
    });
    await expect(updateEnvFile(path, { KEY: 'a\nb"c' })).rejects.toThrow(/cannot be written/);
    expect((await stat(path)).mode & 0o777).toBe(0o600);
    expect(formatEnvValue('plain-value_1.2:3')).toBe('plain-value_1.2:3');
    await expect(updateEnvFile(path, { 'BAD KEY': 'x' })).rejects.toThrow(/Not an env variable name/);
  });
});

describe('the manifest from app.yml', () => {
  it("keeps app.yml's events and permissions and fills in this deployment's URLs", async () => {
    const yml = await readAppYml(APP_YML);
    const m = buildAppManifest(yml, {
      baseUrl: 'https://pw.example.com/',
      webhookUrl: 'https://smee.io/abc',
    });
    expect(m.hook_attributes).toEqual({ url: 'https://smee.io/abc', active: true });
    expect(m.redirect_url).toBe('https://pw.example.com/setup/callback');
    expect(m.callback_urls).toEqual(['https://pw.example.com/auth/callback']);
    expect(m.default_permissions).toEqual(yml.default_permissions);
    expect(m.default_events).toEqual(yml.default_events);
    expect(m.default_permissions.workflows).toBeUndefined();
    expect(m.request_oauth_on_install).toBe(false);
  });
});
