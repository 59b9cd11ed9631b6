import { createPublicKey, generateKeyPairSync, randomBytes } from 'node:crypto';
import { mkdtemp, rm } from 'node:fs/promises';
import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { PullwrightError } from '../../../src/errors.js';
import { createActions } from './actions.js';
import { TwinAuth } from './auth.js';
import { createCiApi } from './ci-api.js';
import { createDispatcher } from './dispatch.js';
import { FaultInjector } from './faults.js';
import { nowIso } from './http.js';
import { createInspect } from './inspect.js';
import { Router } from './router.js';
import { registerActionRoutes } from './routes-actions.js';
import { registerAppRoutes } from './routes-app.js';
import { registerCheckRoutes } from './routes-checks.js';
import { registerCommentRoutes } from './routes-comments.js';
import { registerCommitRoutes } from './routes-commits.js';
import { registerForkRoutes } from './routes-forks.js';
import { registerGraphqlRoutes } from './routes-graphql.js';
import { registerIssueRoutes } from './routes-issues.js';
import { registerManifestRoutes } from './routes-manifest.js';
import { registerOAuthRoutes } from './routes-oauth.js';
import { registerPullRoutes } from './routes-pulls.js';
import { registerRefRoutes } from './routes-refs.js';
import { registerRepoRoutes } from './routes-repos.js';
import { registerReviewRoutes } from './routes-reviews.js';
import { registerStatusRoutes } from './routes-statuses.js';
import { ScriptedCi } from './scripted-ci.js';
import { createSeed } from './seed-api.js';
import { Serializer } from './serialize.js';
import { TwinState, type UserRec } from './state.js';
import { TwinCore } from './twin-core.js';
import type { Delivery, GitHubTwin, StartGitHubTwinOptions } from './types.js';
import { Deliverer } from './webhooks.js';

let cachedKey: string | undefined;

/** One generated key per process: RSA generation costs ~100 ms and tests start many twins. */
function sharedKey(): string {
  cachedKey ??= generateKeyPairSync('rsa', {
    modulusLength: 2048,
    privateKeyEncoding: { type: 'pkcs1', format: 'pem' },
    publicKeyEncoding: { type: 'spki', format: 'pem' },
  }).privateKey;
  return cachedKey;
}

/**
 * Starts a GitHub twin on loopback. See README.md for the contract. This file only wires the parts:
 * the shared core (twin-core.ts), auth, one route module per resource (routes-*.ts), git smart HTTP,
 * the admin API, and the seed / actions / inspect APIs tests drive it with.
 */
export async function startGitHubTwin(options: StartGitHubTwinOptions = {}): Promise<GitHubTwin> {
  const host = options.host ?? '127.0.0.1';
  const ownDataDir = options.dataDir === undefined;
  const dataDir = options.dataDir ?? (await mkdtemp(join(tmpdir(), 'gh-twin-')));
  const appId = options.appId ?? 1;
  const slug = options.appSlug ?? 'pullwright';
  const webhookSecret = options.webhookSecret ?? randomBytes(20).toString('hex');
  const privateKey = options.privateKey ?? sharedKey();
  const publicKeyObject = createPublicKey(privateKey);
  const publicKey = publicKeyObject.export({ type: 'spki', format: 'pem' }).toString();

  const state = new TwinState();
  const botLogin = `${slug}[bot]`;
  // The bot acts only through installation tokens: an empty personal token never authenticates.
  const bot: UserRec = { login: botLogin, id: state.id(), type: 'Bot', token: '' };
  state.users.set(botLogin.toLowerCase(), bot);
  const appOwner = 'twin-app-owner';
  state.users.set(appOwner, { login: appOwner, id: state.id(), type: 'User', token: '' });

  let handle: (req: IncomingMessage, res: ServerResponse) => Promise<void> = async () => {};
  const server: Server = createServer((req, res) => {
    handle(req, res).catch((err: unknown) => {
      if (!res.headersSent) {
        res.statusCode = 500;
        res.setHeader('content-type', 'application/json; charset=utf-8');
        res.end(
          JSON.stringify({ message: `twin error: ${err instanceof Error ? err.message : String(err)}` }),
        );
      } else res.end();
    });
  });
  server.keepAliveTimeout = 1000;
  await new Promise<void>((resolve) => server.listen(options.port ?? 0, host, resolve));
  const port = (server.address() as AddressInfo).port;
  const url = `http://${host.includes(':') ? `[${host}]` : host}:${port}`;

  const ser = new Serializer(url, state, {
    id: appId,
    slug,
    name: slug,
    owner: appOwner,
    botLogin,
    botId: bot.id,
    createdAt: nowIso(),
  });
  const deliverer = new Deliverer(webhookSecret, options.webhookUrl ?? null, appId);
  const core = new TwinCore(state, ser, deliverer, {
    url,
    appId,
    slug,
    botLogin,
    reposRoot: join(dataDir, 'repos'),
    tokenTtlSeconds: options.tokenTtlSeconds ?? 3600,
    pushWebhooks: options.pushWebhooks ?? true,
    restWebhooks: options.restWebhooks ?? false,
    forkDelayMs: options.forkDelayMs ?? 300,
  });
  const auth = new TwinAuth(core, publicKeyObject);
  const router = new Router();
  const kit = { core, auth, on: router.on.bind(router) };
  for (const register of [
    registerAppRoutes,
    registerRepoRoutes,
    registerForkRoutes,
    registerIssueRoutes,
    registerCommentRoutes,
    registerPullRoutes,
    registerReviewRoutes,
    registerRefRoutes,
    registerGraphqlRoutes,
    registerOAuthRoutes,
    registerManifestRoutes,
    registerCheckRoutes,
    registerStatusRoutes,
    registerCommitRoutes,
  ]) {
    register(kit);
  }
  const scriptedCi = new ScriptedCi(core);
  registerActionRoutes(kit, scriptedCi);
  core.pushListeners.push((repo, branch, before, after, sender) =>
    scriptedCi.onPush(repo, branch, before, after, sender),
  );
  core.pullOpenedListeners.push((repo, issue, sender) => scriptedCi.onPullOpened(repo, issue, sender));
  if (options.ci) state.ci.enabled = 'all';
  const ci = createCiApi(core, scriptedCi);
  const faults = new FaultInjector();
  const seed = createSeed(core);
  const actions = createActions(core, seed);
  const inspect = createInspect(core);
  handle = createDispatcher(core, auth, router, { seed, actions, inspect, faults, ci });

  return {
    url,
    app: { id: appId, slug, name: slug, privateKey, publicKey, webhookSecret, botLogin, botId: bot.id },
    setWebhookUrl(next) {
      deliverer.url = next;
    },
    seed,
    actions,
    ci,
    redeliver: (id) => deliverer.redeliver(id),
    get deliveries(): Delivery[] {
      return deliverer.log;
    },
    inspect,
    faults,
    settled: () => deliverer.settled(),
    gitUrl(repoName, token) {
      const repo = core.mustRepo(repoName);
      const credentials = token ? `x-access-token:${token}@` : '';
      return `${url.replace('://', `://${credentials}`)}/${repo.fullName}.git`;
    },
    createInstallationToken(installationId, opts = {}) {
      const inst = state.installations.get(installationId);
      if (!inst) throw new PullwrightError('not_found', `Unknown installation ${installationId}`);
      const m = auth.mintToken(inst, {
        repositories: opts.repositories,
        permissions: opts.permissions,
        ttlSeconds: opts.ttlSeconds,
      });
      return { token: m.token, expiresAt: m.expiresAt };
    },
    async close() {
      await scriptedCi.idle();
      await deliverer.settled();
      await new Promise<void>((resolve) => {
        server.close(() => resolve());
        server.closeAllConnections();
      });
      if (ownDataDir) await rm(dataDir, { recursive: true, force: true });
    },
  };
}
