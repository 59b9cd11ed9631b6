import { startAppServer } from './app/app-server.js';
import { loadConfigOrExit } from './config/env.js';
import { createLogger } from './logger.js';
import { REDIS_NO_PASSWORD_WARNING, redisConfigHasPassword } from './queue/redis-auth.js';
import { redisTargetFromConfig } from './queue/redis-connection.js';

/** `npm run app`: the webhook app. Point GITHUB_API_URL at the GitHub twin to run it locally. */
const config = loadConfigOrExit('app');
const log = createLogger({ level: config.LOG_LEVEL, name: 'pullwright-app' });
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
      MAX_CI_REPAIRS: config.MAX_CI_REPAIRS,
      MAX_MONTHLY_COST_USD: config.MAX_MONTHLY_COST_USD,
      EGRESS_ALLOW_PRIVATE_RANGES: config.EGRESS_ALLOW_PRIVATE_RANGES,
      PROTECTED_PATHS: config.PROTECTED_PATHS,
    },
  },
  log,
});

let stopping = false;
for (const signal of ['SIGTERM', 'SIGINT'] as const) {
  process.on(signal, () => {
    if (stopping) return;
    stopping = true;
    log.info({ signal }, 'Shutting down');
    app.close().then(
      () => process.exit(0),
      (err: unknown) => {
        log.error({ err }, 'Shutdown failed');
        process.exit(1);
      },
    );
  });
}
