import { createHmac } from 'node:crypto';
import { mkdtemp, readFile, rm, stat } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { parseEnv } from 'node:util';
import { Redis } from 'ioredis';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { deletePrefix, REDIS_URL, uniquePrefix } from '../queue/redis-helpers.js';
import { type AppProcess, freePort, startAppProcess, waitForHttp } from '../setup/app-process.js';
import { startGitHubTwin } from '../twins/github/index.js';
import type { GitHubTwin } from '../twins/github/types.js';
import { saveScreenshot, visibleText, withPage } from './chromium.js';

/**
 * First run, in a real browser: `npm run app` without APP_ID serves the setup page; the operator
 * registers the GitHub App on the twin through the manifest flow; `.env` is written 0600; the
 * restarted app receives a webhook signed with the new secret (and refuses the old one).
 */

let twin: GitHubTwin;
let dir: string;
let prefix: string;
let port: number;
let ownerToken: string;
const procs: AppProcess[] = [];

beforeAll(async () => {
  twin = await startGitHubTwin();
  ownerToken = twin.seed.user({ login: 'octo-owner' }).token;
  await twin.seed.repo({ owner: 'octo-owner', name: 'demo', files: { 'README.md': '# demo\n' } });
  dir = await mkdtemp(join(tmpdir(), 'pw-setup-'));
  prefix = uniquePrefix('setup');
  port = await freePort();
});

afterAll(async () => {
  for (const p of procs) await p.stop();
  await twin?.close();
  if (dir) await rm(dir, { recursive: true, force: true });
  const redis = new Redis(REDIS_URL, { maxRetriesPerRequest: 1 });
  await deletePrefix(redis, prefix);
  redis.disconnect();
});

describe('registering the GitHub App from the setup page', () => {
  it("registers on the twin, writes .env 0600, and the restarted app accepts the new app's webhooks", async () => {
    const env = {
      PORT: String(port),
      HOST: '127.0.0.1',
      GITHUB_API_URL: twin.url,
      GITHUB_WEB_URL: twin.url,
      GITHUB_GIT_URL: twin.url,
      REDIS_URL,
      QUEUE_PREFIX: prefix,
      LOG_LEVEL: 'info',
    };
    const setup = startAppProcess(dir, env);
    procs.push(setup);
    const [setupUrl] = await setup.waitFor(/http:\/\/127\.0\.0\.1:\d+\/setup\?token=[A-Za-z0-9_-]+/);

    // Without the token from the log, the page is refused.
    const bare = await fetch(`http://127.0.0.1:${port}/setup`);
    expect(bare.status).toBe(403);

    await withPage(async (page) => {
      await page.goto(setupUrl);
      expect(page.url()).toBe(`http://127.0.0.1:${port}/setup`); // the token left the address bar
      expect(await visibleText(page)).toContain(`Webhook URL: http://127.0.0.1:${port}/api/github/webhooks`);
      await saveScreenshot(page, 'setup-page');
      await Promise.all([page.waitForNavigation(), page.click('#register')]);
      // GitHub (the twin) asks who is creating the app, then for confirmation.
      expect(page.url()).toContain(`${twin.url}/settings/apps/new?state=`);
      await page.type('#login_field', 'octo-owner');
      await page.type('#password', ownerToken);
      await Promise.all([page.waitForNavigation(), page.click('[name=commit]')]);
      expect(await visibleText(page)).toContain('Create GitHub App for octo-owner');
      await Promise.all([page.waitForNavigation(), page.click('#create-app')]);
      expect(page.url()).toMatch(new RegExp(`^http://127.0.0.1:${port}/setup/callback\\?`));
      expect(await visibleText(page)).toContain('Pullwright is registered');
      expect(await page.evaluate('document.querySelector("#install").href')).toBe(
        `${twin.url}/apps/pullwright/installations/new`,
      );
      await saveScreenshot(page, 'setup-done');
    });
    await setup.waitFor(/Restart Pullwright/);

    const envPath = join(dir, '.env');
    expect((await stat(envPath)).mode & 0o777).toBe(0o600);
    const written = parseEnv(await readFile(envPath, 'utf8'));
    expect(written.APP_ID).toMatch(/^\d+$/);
    expect(written.APP_SLUG).toBe('pullwright');
    expect(written.PRIVATE_KEY).toContain('-----BEGIN RSA PRIVATE KEY-----\n');
    expect(written.WEBHOOK_SECRET).toMatch(/^[0-9a-f]{40}$/);
    expect(written.GITHUB_CLIENT_ID).toBe(`Iv1.${Number(written.APP_ID).toString(16).padStart(16, '0')}`);
    expect(written.GITHUB_CLIENT_SECRET).toBeTruthy();
    expect(written.SESSION_SECRET!.length).toBeGreaterThanOrEqual(32);
    expect(written.GITHUB_API_URL).toBe(twin.url);
    expect(written.WEBHOOK_SECRET).not.toBe(twin.app.webhookSecret);

    // Restart: the same command now starts the webhook app with the new identity.
    await setup.stop();
    const app = startAppProcess(dir, env);
    procs.push(app);
    await waitForHttp(`http://127.0.0.1:${port}/healthz`);

    const { delivery } = await twin.actions.installApp({ account: 'octo-owner', sender: 'octo-owner' });
    await twin.settled();
    expect(delivery.url).toBe(`http://127.0.0.1:${port}/api/github/webhooks`);
    expect(delivery.error).toBeNull();
    expect(delivery.status, delivery.responseBody).toBeLessThan(300);
    const signature = `sha256=${createHmac('sha256', written.WEBHOOK_SECRET!).update(delivery.body).digest('hex')}`;
    expect(delivery.signature).toBe(signature);

    // The same body signed with the twin's original secret is refused.
    const forged = await fetch(`http://127.0.0.1:${port}/api/github/webhooks`, {
      method: 'POST',
      headers: {
        'content-type': 'application/json',
        'x-github-event': 'installation',
        'x-github-delivery': 'forged-1',
        'x-hub-signature-256': `sha256=${createHmac('sha256', twin.app.webhookSecret).update(delivery.body).digest('hex')}`,
      },
      body: delivery.body,
    });
    expect(forged.status).toBeGreaterThanOrEqual(400);
  }, 300_000);
});
