import { loadConfigOrExit } from '../src/config/env.js';
import { createLogger } from '../src/logger.js';
import { REDIS_NO_PASSWORD_WARNING, redisConfigHasPassword } from '../src/queue/redis-auth.js';
import { envFilePath, loadEnvFile } from '../src/setup/run-setup.js';
import { loadAgentHarness } from './agent/tools/create-run-tools.js';
import { startWorkerRuntime } from './create-worker-runtime.js';
import { createModelFromConfig } from './model/create-model.js';
import { createAgentRunner } from './session/agent-runner.js';

/** `npm run worker`: consumes jobs until SIGTERM, then stops taking jobs and drains within the grace period. */
// `.env` as the app loads it (the setup page writes APP_ID, PRIVATE_KEY… there); never overrides the environment.
loadEnvFile(envFilePath());
const config = loadConfigOrExit('worker');
const log = createLogger({ level: config.LOG_LEVEL, name: 'pullwright-worker' });
if (!redisConfigHasPassword(config)) log.warn({}, REDIS_NO_PASSWORD_WARNING);
if (!config.ANTHROPIC_API_KEY) {
  log.warn(
    {},
    'ANTHROPIC_API_KEY is not set; model requests will fail unless ANTHROPIC_BASE_URL needs no key',
  );
}

// The operator's tool policy, MCP servers and subagent shell: a bad file stops the worker here.
const harness = await loadAgentHarness(config).catch((err: unknown) => {
  log.error({ err }, 'The agent harness files are invalid');
  process.exit(1);
});

const runtime = await startWorkerRuntime({
  config,
  log,
  agent: createAgentRunner({
    model: createModelFromConfig(config, log.child({ component: 'agent' })),
    secrets: config.ANTHROPIC_API_KEY ? [config.ANTHROPIC_API_KEY] : [],
    harness,
  }),
});

let stopping = false;
for (const signal of ['SIGTERM', 'SIGINT'] as const) {
  process.on(signal, () => {
    if (stopping) return;
    stopping = true;
    log.info({ signal, running: runtime.running, graceMs: config.SHUTDOWN_GRACE_MS }, 'Shutting down');
    runtime.close(config.SHUTDOWN_GRACE_MS).then(
      () => process.exit(0),
      (err: unknown) => {
        log.error({ err }, 'Shutdown failed');
        process.exit(1);
      },
    );
  });
}
