import { generateKeyPairSync, randomBytes } from 'node:crypto';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Redis } from 'ioredis';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { deletePrefix, REDIS_URL, uniquePrefix } from '../queue/redis-helpers.js';
import { startGitHubTwin } from '../twins/github/index.js';
import type { GitHubTwin } from '../twins/github/types.js';
import { type AppProcess, freePort, startAppProcess, waitForHttp } from './app-process.js';
import { type RelayChannel, startRelayChannel } from './relay-channel.js';

/**
 * WEBHOOK_PROXY_URL: GitHub (the twin) delivers to a relay channel served on loopback; the app,
 * subscribed with smee-client, re-posts each delivery to its own webhook route, which still checks
 * the signature, so a payload someone else posts to the channel is refused.
 */

let twin: GitHubTwin;
let relay: RelayChannel;
let app: AppProcess;
let dir: string;
let port: number;
const prefix = uniquePrefix('relay');
const secret = randomBytes(20).toString('hex');

beforeAll(async () => {
  relay = await startRelayChannel(`ch-${randomBytes(6).toString('hex')}`);
  const { privateKey } = generateKeyPairSync('rsa', {
    modulusLength: 2048,
    privateKeyEncoding: { type: 'pkcs1', format: 'pem' },
    publicKeyEncoding: { type: 'spki', format: 'pem' },
  });
  twin = await startGitHubTwin({ webhookSecret: secret, privateKey, webhookUrl: relay.url });
  twin.seed.user({ login: 'octo' });
  await twin.seed.repo({ owner: 'octo', name: 'demo', files: { 'README.md': '# demo\n' } });
  dir = await mkdtemp(join(tmpdir(), 'pw-relay-'));
  port = await freePort();
  app = startAppProcess(dir, {
    PORT: String(port),
    HOST: '127.0.0.1',
    APP_ID: String(twin.app.id),
    PRIVATE_KEY: privateKey,
    WEBHOOK_SECRET: secret,
    GITHUB_API_URL: twin.url,
    GITHUB_GIT_URL: twin.url,
    WEBHOOK_PROXY_URL: relay.url,
    REDIS_URL,
    QUEUE_PREFIX: prefix,
    LOG_LEVEL: 'info',
  });
  await waitForHttp(`http://127.0.0.1:${port}/healthz`);
  await app.waitFor(/Forwarding webhooks from the relay channel/);
}, 300_000);

afterAll(async () => {
  await app?.stop();
  await twin?.close();
  await relay?.close();
  if (dir) await rm(dir, { recursive: true, force: true });
  const redis = new Redis(REDIS_URL, { maxRetriesPerRequest: 1 });
  await deletePrefix(redis, prefix);
  redis.disconnect();
});

describe('WEBHOOK_PROXY_URL', () => {
  it('receives GitHub deliveries through the relay channel, signature checked', async () => {
    const { delivery } = await twin.actions.installApp({ account: 'octo', sender: 'octo' });
    expect(delivery.status).toBe(200); // the relay took it
    const target = `http://127.0.0.1:${port}/api/github/webhooks`;
    // smee-client reports the app's answer to each re-post: the signed delivery was accepted.
    const [line] = await app.waitFor(new RegExp(`POST ${target.replace(/[./]/g, '\\$&')} - (\\d{3})`));
    expect(line).toMatch(/ - 20[02]/);
    // The channel URL (its only secret) never appears in the app's log.
    expect(app.output()).not.toContain(relay.url);
  });

  it('refuses a payload posted to the channel by someone without the webhook secret', async () => {
    const before = (app.output().match(/ - 4\d\d/g) ?? []).length;
    const res = await fetch(relay.url, {
      method: 'POST',
      headers: {
        'content-type': 'application/json',
        'x-github-event': 'issues',
        'x-github-delivery': 'forged-delivery',
        'x-hub-signature-256': `sha256=${'0'.repeat(64)}`,
      },
      body: JSON.stringify({ action: 'assigned', installation: { id: 1 } }),
    });
    expect(res.status).toBe(200);
    await expect
      .poll(() => (app.output().match(/ - 4\d\d/g) ?? []).length, { timeout: 15_000 })
      .toBeGreaterThan(before);
  });
});
