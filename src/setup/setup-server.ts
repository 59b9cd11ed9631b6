import { randomBytes, timingSafeEqual } from 'node:crypto';
import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import type { Logger } from 'pino';
import { isPullwrightError } from '../errors.js';
import { type AppManifest, buildAppManifest, readAppYml, SETUP_CALLBACK_PATH } from './app-manifest.js';
import { type AppRegistration, convertAppManifest } from './convert-manifest.js';
import { envKeys, readEnvFile, updateEnvFile } from './env-file.js';
import { renderDone, renderFailure, renderSetup } from './setup-pages.js';

/**
 * `npm run app` without APP_ID: a small server whose page registers the GitHub App from app.yml
 * through GitHub's manifest flow, writes the credentials into `.env` and asks for a restart.
 *
 * Threat: whoever completes this flow decides which GitHub App (and so whose account) this
 * deployment runs as. So the page needs the one-time setup token printed in the log (the URL the
 * operator opens), kept afterwards in an HttpOnly cookie; the callback needs that cookie and a
 * one-time `state` the page issued (a forged callback link carrying someone else's code is
 * refused); and an `.env` that already names an app is never overwritten.
 */

export interface SetupServerOptions {
  host: string;
  port: number;
  /** The env file to write (`.env` in the working folder). */
  envPath: string;
  appYmlPath: string;
  /** GitHub's web origin (GITHUB_WEB_URL): where the manifest form is posted. */
  webUrl: string;
  /** GitHub's REST base (GITHUB_API_URL): where the code is converted. */
  apiUrl: string;
  /** PUBLIC_URL; without it the URLs are built from the address the operator's browser used. */
  publicUrl?: string;
  /** WEBHOOK_PROXY_URL: registered as the webhook URL when there is no PUBLIC_URL (as Probot does). */
  webhookProxyUrl?: string;
  /** Values written to `.env` besides the app's own (e.g. GITHUB_API_URL for GitHub Enterprise). */
  extraEnv?: Record<string, string>;
  log: Logger;
  /** The setup token; random when absent (tests pass their own). */
  token?: string;
}

export interface SetupServer {
  url: string;
  /** The URL to open, with the setup token. */
  setupUrl: string;
  server: Server;
  /** Resolves with the registered app once `.env` is written. */
  registered: Promise<AppRegistration>;
  close(): Promise<void>;
}

const COOKIE = 'pullwright_setup';
const STATE_TTL_MS = 60 * 60_000;

function cookieValue(req: IncomingMessage, name: string): string | undefined {
  for (const part of (req.headers.cookie ?? '').split(';')) {
    const i = part.indexOf('=');
    if (i > 0 && part.slice(0, i).trim() === name) return part.slice(i + 1).trim();
  }
  return undefined;
}

function sameSecret(a: string | undefined, b: string): boolean {
  const x = Buffer.from(a ?? '');
  const y = Buffer.from(b);
  return x.length === y.length && timingSafeEqual(x, y);
}

async function readForm(req: IncomingMessage, limit = 256 * 1024): Promise<URLSearchParams> {
  const chunks: Buffer[] = [];
  let size = 0;
  for await (const chunk of req) {
    size += (chunk as Buffer).length;
    if (size > limit) throw new Error('form too large');
    chunks.push(chunk as Buffer);
  }
  return new URLSearchParams(Buffer.concat(chunks).toString('utf8'));
}

export async function startSetupServer(options: SetupServerOptions): Promise<SetupServer> {
  const token = options.token ?? randomBytes(18).toString('base64url');
  const webOrigin = new URL(options.webUrl).origin;
  const states = new Map<string, number>();
  let done: AppRegistration | null = null;
  let converting = false;
  let resolveRegistered: (app: AppRegistration) => void = () => {};
  const registered = new Promise<AppRegistration>((resolve) => {
    resolveRegistered = resolve;
  });

  const baseOf = (req: IncomingMessage) =>
    options.publicUrl?.replace(/\/+$/, '') ??
    `http://${req.headers.host ?? `${options.host}:${options.port}`}`;

  const send = (res: ServerResponse, status: number, html: string, headers: Record<string, string> = {}) => {
    res.writeHead(status, {
      'content-type': 'text/html; charset=utf-8',
      'cache-control': 'no-store',
      // No script at all; forms may only go to this app and to GitHub (the 307 to the manifest form).
      'content-security-policy': `default-src 'none'; style-src 'unsafe-inline'; img-src 'self'; form-action 'self' ${webOrigin}; base-uri 'none'; frame-ancestors 'none'`,
      'x-content-type-options': 'nosniff',
      'referrer-policy': 'no-referrer',
      ...headers,
    });
    res.end(html);
  };

  const manifestFor = async (req: IncomingMessage): Promise<AppManifest> => {
    const base = baseOf(req);
    const webhookUrl =
      !options.publicUrl && options.webhookProxyUrl ? options.webhookProxyUrl : `${base}/api/github/webhooks`;
    return buildAppManifest(await readAppYml(options.appYmlPath), { baseUrl: base, webhookUrl });
  };

  const authorized = (req: IncomingMessage) => sameSecret(cookieValue(req, COOKIE), token);

  async function handle(req: IncomingMessage, res: ServerResponse): Promise<void> {
    const url = new URL(req.url ?? '/', 'http://setup.invalid');
    const secure = baseOf(req).startsWith('https:') ? '; Secure' : '';
    if (url.pathname === '/healthz') {
      res.writeHead(200, { 'content-type': 'application/json' }).end('{"status":"setup"}');
      return;
    }
    if (url.pathname === '/api/github/webhooks') {
      res
        .writeHead(503, { 'content-type': 'application/json' })
        .end('{"error":"Pullwright is not registered yet"}');
      return;
    }
    if (url.pathname === '/' && req.method === 'GET') {
      res.writeHead(302, { location: '/setup' }).end();
      return;
    }
    if (url.pathname === '/setup' && req.method === 'GET') {
      const given = url.searchParams.get('token');
      if (given !== null) {
        if (!sameSecret(given, token))
          return send(res, 403, renderFailure("This setup link is not valid. Use the one in the app's log."));
        // Trade the token in the URL for a cookie, and drop it from the address bar and history.
        res
          .writeHead(303, {
            location: '/setup',
            'set-cookie': `${COOKIE}=${token}; Path=/; HttpOnly; SameSite=Lax${secure}`,
          })
          .end();
        return;
      }
      if (!authorized(req))
        return send(
          res,
          403,
          renderFailure("Open the setup link printed in the app's log (it carries a one-time token)."),
        );
      if (done) return send(res, 200, renderDone(done, options));
      const state = randomBytes(16).toString('hex');
      states.set(state, Date.now() + STATE_TTL_MS);
      const manifest = await manifestFor(req);
      return send(
        res,
        200,
        renderSetup({ manifest, state, webUrl: options.webUrl, envPath: options.envPath }),
      );
    }
    if (url.pathname === '/setup/register' && req.method === 'POST') {
      if (!authorized(req)) return send(res, 403, renderFailure('Not allowed.'));
      const form = await readForm(req);
      const state = url.searchParams.get('state') ?? '';
      if (!states.has(state))
        return send(res, 400, renderFailure('This form is stale. Reload the setup page.'));
      const org = (form.get('organization') ?? '').trim();
      if (org && !/^[A-Za-z0-9](?:[A-Za-z0-9-]{0,38})$/.test(org))
        return send(res, 400, renderFailure('That is not an organization name.'));
      const path = org ? `/organizations/${encodeURIComponent(org)}/settings/apps/new` : '/settings/apps/new';
      // 307 keeps the method and body: the browser re-posts the manifest field to GitHub.
      res.writeHead(307, { location: `${options.webUrl.replace(/\/+$/, '')}${path}?state=${state}` }).end();
      return;
    }
    if (url.pathname === SETUP_CALLBACK_PATH && req.method === 'GET') {
      const state = url.searchParams.get('state') ?? '';
      const code = url.searchParams.get('code') ?? '';
      const expires = states.get(state);
      if (!authorized(req) || expires === undefined || expires < Date.now() || !code)
        return send(
          res,
          403,
          renderFailure(
            'This registration was not started from this setup page (or it expired). Start again from the setup link in the log.',
          ),
        );
      if (done) return send(res, 200, renderDone(done, options));
      if (converting) return send(res, 409, renderFailure('A registration is being completed already.'));
      converting = true;
      states.delete(state);
      try {
        const existing = envKeys(await readEnvFile(options.envPath));
        if (existing.has('APP_ID'))
          return send(
            res,
            409,
            renderFailure(
              `${options.envPath} already names an app (APP_ID); not overwritten. Restart Pullwright to use it.`,
            ),
          );
        const app = await convertAppManifest(options.apiUrl, code);
        await updateEnvFile(options.envPath, envFor(app, existing, options.extraEnv ?? {}));
        done = app;
        options.log.info(
          { appId: app.id, appSlug: app.slug, envPath: options.envPath },
          'GitHub App registered; restart Pullwright to use it',
        );
        resolveRegistered(app);
        return send(res, 200, renderDone(app, options));
      } catch (err) {
        options.log.warn({ err }, 'GitHub App registration failed');
        return send(
          res,
          502,
          renderFailure(isPullwrightError(err) ? err.message : 'The registration failed; see the app log.'),
        );
      } finally {
        converting = false;
      }
    }
    res.writeHead(404, { 'content-type': 'text/plain' }).end('Not found');
  }

  const server = createServer((req, res) => {
    handle(req, res).catch((err: unknown) => {
      options.log.error({ err }, 'Setup request failed');
      if (!res.headersSent) send(res, 500, renderFailure('Internal error; see the app log.'));
      else res.end();
    });
  });
  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen(options.port, options.host, resolve);
  });
  const port = (server.address() as AddressInfo).port;
  const host = options.host === '0.0.0.0' || options.host === '::' ? 'localhost' : options.host;
  const url =
    options.publicUrl?.replace(/\/+$/, '') ?? `http://${host.includes(':') ? `[${host}]` : host}:${port}`;
  return {
    url,
    setupUrl: `${url}/setup?token=${token}`,
    server,
    registered,
    close: () =>
      new Promise<void>((resolve) => {
        server.close(() => resolve());
        server.closeAllConnections();
      }),
  };
}

/** What `.env` gets: the app's identity and secrets, a session secret for sign-in, and the hosts. */
export function envFor(
  app: AppRegistration,
  existing: Set<string>,
  extra: Record<string, string>,
): Record<string, string> {
  const values: Record<string, string> = {
    APP_ID: String(app.id),
    APP_SLUG: app.slug,
    PRIVATE_KEY: app.pem,
    WEBHOOK_SECRET: app.webhook_secret ?? randomBytes(20).toString('hex'),
    GITHUB_CLIENT_ID: app.client_id,
    GITHUB_CLIENT_SECRET: app.client_secret,
  };
  // Sign-in (GITHUB_CLIENT_ID) needs a cookie-signing secret shared by every app process.
  if (!existing.has('SESSION_SECRET')) values.SESSION_SECRET = randomBytes(32).toString('hex');
  for (const [k, v] of Object.entries(extra)) if (!existing.has(k)) values[k] = v;
  return values;
}
