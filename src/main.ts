import { startAppServer } from './app/app-server.js';
import { loadConfigOrExit } from './config/env.js';
import { createLogger } from './logger.js';
import { REDIS_NO_PASSWORD_WARNING, redisConfigHasPassword } from './queue/redis-auth.js';
import { redisTargetFromConfig } from './queue/redis-connection.js';
import { runPagesSettingsFromConfig } from './runs/run-pages-settings.js';
import { envFilePath, loadEnvFile, runSetupMode } from './setup/run-setup.js';
import { startWebhookProxy, type WebhookProxy } from './setup/webhook-proxy.js';

/**
 * `npm run app`: the webhook app. Reads `.env` from the working folder (the environment wins).
 * Without APP_ID it serves the setup page instead (src/setup), which registers the GitHub App and
 * writes `.env`. Point GITHUB_API_URL and GITHUB_WEB_URL at the GitHub twin to run it locally.
 */
loadEnvFile(envFilePath());

const closers: (() => Promise<void>)[] = [];
let log: ReturnType<typeof createLogger>;

if (!process.env.APP_ID) {
  const config = loadConfigOrExit('cli');
  log = createLogger({ level: config.LOG_LEVEL, name: 'pullwright-setup' });
  const setup = await runSetupMode(config, log);
  closers.push(() => setup.close());
} else {
  const config = loadConfigOrExit('app');
  log = createLogger({ level: config.LOG_LEVEL, name: 'pullwright-app' });
  if (!redisConfigHasPassword(config)) log.warn({}, REDIS_NO_PASSWORD_WARNING);

  const app = await startAppServer({
    appId: config.APP_ID ?? '',
    privateKey: config.privateKey ?? '',
    webhookSecret: config.WEBHOOK_SECRET ?? '',
    githubApiUrl: config.GITHUB_API_URL,
    // A URL, or the primary behind Sentinel (REDIS_SENTINELS): src/queue/redis-connection.ts.
    redisTarget: redisTargetFromConfig(config),
    queuePrefix: config.QUEUE_PREFIX,
    port: config.PORT,
    host: config.HOST,
    operatorToken: config.OPERATOR_TOKEN,
    // Run pages and sign-in (src/runs); without GITHUB_CLIENT_ID they answer 404.
    runPages: runPagesSettingsFromConfig(config),
    settings: {
      appSlug: config.APP_SLUG,
      botLogin: config.botLogin,
      triggerPhrase: config.TRIGGER_PHRASE,
      caps: {
        MAX_NETWORK: config.MAX_NETWORK,
        ALLOW_WORKFLOW_EDITS: config.ALLOW_WORKFLOW_EDITS,
        MAX_TURNS: config.MAX_TURNS,
        MAX_COST_USD: config.MAX_COST_USD,
        MAX_WALL_MINUTES: config.MAX_WALL_MINUTES,
        EGRESS_ALLOW_PRIVATE_RANGES: config.EGRESS_ALLOW_PRIVATE_RANGES,
        PROTECTED_PATHS: config.PROTECTED_PATHS,
      },
    },
    log,
  });
  closers.push(() => app.close());

  if (config.WEBHOOK_PROXY_URL) {
    // Deliveries arrive through the relay channel and are re-posted to our own webhook route.
    const wildcard = config.HOST === '0.0.0.0' || config.HOST === '::';
    const host = wildcard ? '127.0.0.1' : config.HOST.includes(':') ? `[${config.HOST}]` : config.HOST;
    const proxy: WebhookProxy = await startWebhookProxy({
      source: config.WEBHOOK_PROXY_URL,
      target: `http://${host}:${new URL(app.url).port || config.PORT}/api/github/webhooks`,
      log,
    });
    closers.unshift(() => proxy.stop());
  }
}

let stopping = false;
for (const signal of ['SIGTERM', 'SIGINT'] as const) {
  process.on(signal, () => {
    if (stopping) return;
    stopping = true;
    log.info({ signal }, 'Shutting down');
    (async () => {
      for (const close of closers) await close();
    })().then(
      () => process.exit(0),
      (err: unknown) => {
        log.error({ err }, 'Shutdown failed');
        process.exit(1);
      },
    );
  });
}
