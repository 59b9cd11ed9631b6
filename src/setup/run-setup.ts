import { existsSync } from 'node:fs';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import type { Logger } from 'pino';
import type { Config } from '../config/env.js';
import { type SetupServer, startSetupServer } from './setup-server.js';

/** Settings the restarted app needs to reach the same GitHub: kept in `.env` when only exported inline. */
const CARRIED_OVER = [
  'GITHUB_API_URL',
  'GITHUB_WEB_URL',
  'GITHUB_GIT_URL',
  'PUBLIC_URL',
  'WEBHOOK_PROXY_URL',
] as const;

/** `.env` in the working folder: where Probot apps keep it, and what `npm run app` loads. */
export function envFilePath(cwd = process.cwd()): string {
  return resolve(cwd, '.env');
}

/** The working folder's app.yml (an operator's own manifest), else the one shipped with Pullwright. */
export function appYmlPath(cwd = process.cwd()): string {
  const own = resolve(cwd, 'app.yml');
  if (existsSync(own)) return own;
  return join(dirname(fileURLToPath(import.meta.url)), '..', '..', 'app.yml');
}

/** Loads `.env` into process.env without overriding what the environment already sets. */
export function loadEnvFile(path: string): boolean {
  if (!existsSync(path)) return false;
  process.loadEnvFile(path);
  return true;
}

/** Serves the setup page until the process is stopped; the operator restarts once it is done. */
export async function runSetupMode(
  config: Config,
  log: Logger,
  env: NodeJS.ProcessEnv = process.env,
): Promise<SetupServer> {
  const envPath = envFilePath();
  const extraEnv: Record<string, string> = {};
  for (const key of CARRIED_OVER) {
    const v = env[key];
    if (v) extraEnv[key] = v;
  }
  const server = await startSetupServer({
    host: config.HOST,
    port: config.PORT,
    envPath,
    appYmlPath: appYmlPath(),
    webUrl: config.GITHUB_WEB_URL ?? config.GITHUB_GIT_URL,
    apiUrl: config.GITHUB_API_URL,
    publicUrl: config.PUBLIC_URL,
    webhookProxyUrl: config.WEBHOOK_PROXY_URL,
    extraEnv,
    log,
  });
  // The one place the token appears: whoever reads this log may register the app.
  log.info(
    { setupUrl: server.setupUrl, envPath },
    'No APP_ID: open the setup page to register the GitHub App',
  );
  process.stderr.write(
    `\nPullwright is not registered yet. Open this link to register the GitHub App:\n\n  ${server.setupUrl}\n\n`,
  );
  void server.registered.then((app) => {
    process.stderr.write(
      `\nRegistered GitHub App "${app.slug}" (id ${app.id}); settings written to ${envPath}.\nRestart Pullwright (npm run app) to start with it.\n\n`,
    );
  });
  return server;
}
