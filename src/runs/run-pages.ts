import type { IncomingMessage, ServerResponse } from 'node:http';
import type { Redis } from 'ioredis';
import type { Logger } from '../logger.js';
import { requestCancel } from '../queue/cancel-intents.js';
import { targetId } from '../queue/queue-names.js';
import type { CostLedger } from './cost-ledger.js';
import { createGitHubUser, type GitHubUser, type RepoAccess } from './github-user.js';
import type { SafeHtml } from './html.js';
import { html } from './html.js';
import { layout } from './page-layout.js';
import { renderEvent } from './render-run-event.js';
import { renderRunBody, renderRunPage, repoPath } from './render-run-page.js';
import { renderRunsList } from './render-runs-list.js';
import type { RunMeta } from './run-event.js';
import { ASSETS_PATH, RUN_PAGE_CSS, RUN_PAGE_JS } from './run-page-assets.js';
import type { RunStore } from './run-store.js';
import { streamRunEvents } from './stream-run-events.js';
import { createWebSessions, type Session, type WebSessions } from './web-session.js';

/**
 * The run pages: GET /runs/<id> (a run's timeline, live while it runs), its
 * event stream, POST /runs/<id>/stop, GET /repos/<owner>/<repo>/runs, and the
 * sign-in with GitHub they need. Runs hold private code: a viewer needs read
 * access to the run's repository (checked on GitHub with their own token,
 * cached briefly) and Stop needs write. A run the viewer may not see answers
 * exactly like a run that does not exist (404), so ids cannot be probed.
 */
export const SECURITY_HEADERS: Record<string, string> = {
  // No inline script or style at all: the one script and stylesheet are files of our origin.
  'content-security-policy':
    "default-src 'none'; script-src 'self'; style-src 'self'; img-src 'self' data:; connect-src 'self'; form-action 'self'; frame-ancestors 'none'; base-uri 'none'",
  'x-content-type-options': 'nosniff',
  'x-frame-options': 'DENY',
  // Run ids are capabilities of a sort: never sent to the sites the page links to.
  'referrer-policy': 'no-referrer',
  'cache-control': 'no-store',
};

export interface RunPagesAuth {
  clientId: string;
  clientSecret: string;
  sessionSecret: string;
  webUrl: string;
  apiUrl: string;
}

export interface RunPagesOptions {
  redis: Redis;
  prefix: string;
  store: RunStore;
  ledger: CostLedger;
  /** null: sign-in is not configured, so no run page can be shown to anyone. */
  auth: RunPagesAuth | null;
  publicUrl?: string;
  monthlyBudgetUsd?: number | null;
  /** A fresh Redis connection for one live viewer (XREAD BLOCK holds it). */
  newReader: () => Redis;
  log: Logger;
  fetch?: typeof fetch;
  maxLiveViewers?: number;
  /** How long a person's access answer from GitHub is reused (default 60 s). */
  accessTtlSeconds?: number;
}

const RUN_PATH = /^\/runs\/(r_[A-Za-z0-9_-]{16,40})(\/events|\/stop|\/entries\/\d{1,9})?$/;
const REPO_RUNS_PATH = /^\/repos\/([A-Za-z0-9_.-]{1,100})\/([A-Za-z0-9_.-]{1,100})\/runs$/;

function send(res: ServerResponse, status: number, body: string, headers: Record<string, string> = {}): void {
  res
    .writeHead(status, { ...SECURITY_HEADERS, 'content-type': 'text/html; charset=utf-8', ...headers })
    .end(body);
}

function redirect(res: ServerResponse, location: string, cookies: string[] = [], status = 302): void {
  res
    .writeHead(status, {
      ...SECURITY_HEADERS,
      location,
      ...(cookies.length ? { 'set-cookie': cookies } : {}),
    })
    .end();
}

const NOT_FOUND = layout({
  title: 'Not found',
  crumbs: html``,
  viewer: null,
  body: html`<section class="center"><h1>Not found</h1><p class="muted">There is no run here, or you do not have access to it.</p></section>`,
});

/** Only a local path: `next` must never send a signed-in person to another site. */
export function safeNext(next: string | null | undefined): string {
  return next && /^\/(?![/\\])[\x21-\x7e]*$/.test(next) ? next : '/';
}

async function readForm(req: IncomingMessage, limit = 4096): Promise<URLSearchParams> {
  let size = 0;
  const chunks: Buffer[] = [];
  for await (const chunk of req) {
    size += (chunk as Buffer).length;
    if (size > limit) return new URLSearchParams();
    chunks.push(chunk as Buffer);
  }
  return new URLSearchParams(Buffer.concat(chunks).toString('utf8'));
}

/** A small LRU of rendered finished runs, bounded by count and characters. */
class BodyCache {
  private readonly map = new Map<string, SafeHtml>();
  private chars = 0;
  constructor(
    private readonly maxEntries: number,
    private readonly maxChars: number,
  ) {}
  get(id: string): SafeHtml | undefined {
    const body = this.map.get(id);
    if (body) {
      this.map.delete(id);
      this.map.set(id, body);
    }
    return body;
  }
  set(id: string, body: SafeHtml): void {
    if (body.value.length > this.maxChars) return;
    this.map.set(id, body);
    this.chars += body.value.length;
    while (this.map.size > this.maxEntries || this.chars > this.maxChars) {
      const [oldest, value] = this.map.entries().next().value as [string, SafeHtml];
      this.map.delete(oldest);
      this.chars -= value.value.length;
    }
  }
}

export function createRunPages(options: RunPagesOptions) {
  const { store, ledger, log } = options;
  const auth = options.auth;
  const sessions: WebSessions | null = auth
    ? createWebSessions({
        secret: auth.sessionSecret,
        redis: options.redis,
        prefix: options.prefix,
        secure: options.publicUrl?.startsWith('https:') ?? false,
      })
    : null;
  const github: GitHubUser | null = auth
    ? createGitHubUser({
        ...auth,
        redis: options.redis,
        prefix: options.prefix,
        fetch: options.fetch,
        accessTtlSeconds: options.accessTtlSeconds,
      })
    : null;
  const live = { viewers: 0, max: options.maxLiveViewers ?? 200 };
  const finishedBodies = new BodyCache(32, 64 * 1024 * 1024);

  const origin = (req: IncomingMessage) =>
    (options.publicUrl ?? `http://${req.headers.host ?? 'localhost'}`).replace(/\/+$/, '');
  const callbackUrl = (req: IncomingMessage) => `${origin(req)}/auth/callback`;

  async function accessTo(session: Session, meta: RunMeta): Promise<RepoAccess> {
    if (!github) return 'none';
    return github.access({
      sessionId: session.sid,
      token: session.token,
      installationId: meta.installationId,
      repo: meta.repo,
    });
  }

  function signIn(res: ServerResponse, path: string): void {
    redirect(res, `/login?next=${encodeURIComponent(path)}`);
  }

  async function handle(req: IncomingMessage, res: ServerResponse): Promise<boolean> {
    const t0 = performance.now();
    // How long the page took on our side (devtools shows it; the bench reads it).
    const serverTiming = () => ({ 'server-timing': `app;dur=${(performance.now() - t0).toFixed(1)}` });
    const url = new URL(req.url ?? '/', 'http://local');
    const path = url.pathname;
    const method = req.method ?? 'GET';

    if (method === 'GET' && path.startsWith(`${ASSETS_PATH}/`)) {
      const file = path.slice(ASSETS_PATH.length + 1);
      const body = file === 'run-page.css' ? RUN_PAGE_CSS : file === 'run-page.js' ? RUN_PAGE_JS : null;
      if (body === null) return false;
      res
        .writeHead(200, {
          'content-type': file.endsWith('.css')
            ? 'text/css; charset=utf-8'
            : 'text/javascript; charset=utf-8',
          'cache-control': 'public, max-age=300',
          'x-content-type-options': 'nosniff',
        })
        .end(body);
      return true;
    }

    const runMatch = RUN_PATH.exec(path);
    const repoMatch = REPO_RUNS_PATH.exec(path);
    const isAuthPath = path === '/login' || path === '/auth/callback' || path === '/logout';
    if (!runMatch && !repoMatch && !isAuthPath) return false;
    if (!sessions || !github || !auth) {
      send(res, 404, NOT_FOUND);
      return true;
    }

    if (path === '/login' && method === 'GET') {
      const start = sessions.oauthStart(safeNext(url.searchParams.get('next')));
      redirect(res, github.authorizeUrl({ redirectUri: callbackUrl(req), ...start.claims }), [start.cookie]);
      return true;
    }
    if (path === '/auth/callback' && method === 'GET') {
      const claims = sessions.oauthRead(req.headers.cookie);
      const code = url.searchParams.get('code');
      // The state ties the answer to the browser that started the sign-in (login CSRF).
      if (!claims || !code || url.searchParams.get('state') !== claims.state) {
        send(
          res,
          400,
          layout({
            title: 'Sign-in failed',
            crumbs: html``,
            viewer: null,
            body: html`<section class="center"><h1>Sign-in failed</h1><p><a href="/login">Try again</a></p></section>`,
          }),
        );
        return true;
      }
      try {
        const token = await github.exchange({
          code,
          redirectUri: callbackUrl(req),
          verifier: claims.verifier,
        });
        const user = await github.user(token.token);
        const cookie = await sessions.create({
          ...user,
          token: token.token,
          expiresInSeconds: token.expiresIn,
        });
        log.info({ login: user.login }, 'Run pages sign-in');
        redirect(res, claims.next, [cookie, sessions.oauthClear()]);
      } catch (err) {
        log.warn({ err }, 'Run pages sign-in failed');
        send(
          res,
          400,
          layout({
            title: 'Sign-in failed',
            crumbs: html``,
            viewer: null,
            body: html`<section class="center"><h1>Sign-in failed</h1><p><a href="/login">Try again</a></p></section>`,
          }),
          { 'set-cookie': sessions.oauthClear() },
        );
      }
      return true;
    }

    const session = await sessions.read(req.headers.cookie);
    if (path === '/logout' && method === 'POST') {
      const form = await readForm(req);
      if (session && sessions.checkCsrf(session, 'logout', form.get('csrf') ?? undefined)) {
        redirect(res, '/', [await sessions.destroy(session)], 303);
      } else send(res, 403, NOT_FOUND);
      return true;
    }
    if (!session) {
      // Same answer for every run id, existing or not: sign in first.
      if (method === 'GET' && !runMatch?.[2]) signIn(res, path);
      else send(res, 404, NOT_FOUND);
      return true;
    }
    const csrf = sessions.csrfToken(session, 'logout');

    if (repoMatch) {
      if (method !== 'GET') return false;
      const repo = `${repoMatch[1]}/${repoMatch[2]}`;
      const runs = await store.listRepo(repo, 100);
      const first = runs[0];
      // The installation comes from the repo's runs: no runs, nothing to show (and nothing to leak).
      if (!first || (await accessTo(session, first)) === 'none') {
        send(res, 404, NOT_FOUND);
        return true;
      }
      const mtd = await ledger.monthToDate({ installationId: first.installationId, repo });
      send(
        res,
        200,
        renderRunsList({
          repo: first.repo,
          runs,
          month: mtd.month,
          repoTotals: mtd.repo,
          installationTotals: mtd.installation,
          budgetUsd: options.monthlyBudgetUsd ?? null,
          viewer: session,
          csrf,
        }),
      );
      return true;
    }

    const id = runMatch?.[1] as string;
    const action = runMatch?.[2];
    const meta = await store.getMeta(id);
    const access = meta ? await accessTo(session, meta) : 'none';
    if (!meta || access === 'none') {
      send(res, 404, NOT_FOUND);
      return true;
    }

    if (action === '/stop' && method === 'POST') {
      const form = await readForm(req);
      // Write access, checked again now (a cached answer is at most a minute old), and the
      // session's token for this run: a page elsewhere cannot make a signed-in writer stop a run.
      if (access !== 'write' || !sessions.checkCsrf(session, `stop:${id}`, form.get('csrf') ?? undefined)) {
        send(
          res,
          403,
          layout({
            title: 'Forbidden',
            crumbs: html``,
            viewer: session,
            csrf,
            body: html`<section class="center"><h1>Not allowed</h1><p class="muted">Stopping a run needs write access to its repository.</p></section>`,
          }),
        );
        return true;
      }
      if (meta.state === 'running') {
        await requestCancel(options.redis, options.prefix, {
          jobId: meta.jobId,
          target: targetId({
            installationId: meta.installationId,
            repo: { owner: meta.repo.split('/')[0] as string, name: meta.repo.split('/')[1] as string },
            number: meta.number ?? 0,
          }),
          reason: 'stop-comment',
          actor: session.login,
          requestedAt: new Date().toISOString(),
        });
        log.info({ runId: id, jobId: meta.jobId, actor: session.login }, 'Run stop requested from its page');
      }
      redirect(res, `/runs/${id}`, [], 303);
      return true;
    }
    if (method !== 'GET') return false;
    if (action === '/events') {
      if (live.viewers >= live.max) {
        res.writeHead(503, { ...SECURITY_HEADERS, 'retry-after': '10' }).end();
        return true;
      }
      live.viewers += 1;
      try {
        await streamRunEvents({
          req,
          res,
          store,
          reader: options.newReader(),
          runId: id,
          after: url.searchParams.get('after') ?? '0-0',
          stillAllowed: async () =>
            (await sessions.read(req.headers.cookie)) !== null && (await accessTo(session, meta)) !== 'none',
          headers: SECURITY_HEADERS,
        });
      } finally {
        live.viewers -= 1;
      }
      return true;
    }
    if (action?.startsWith('/entries/')) {
      // One entry in full (the page shows long outputs' start and end): same access as the page.
      const seq = Number(action.slice('/entries/'.length));
      const record = await store.getRecord(id);
      const event = record?.events.find((e) => e.seq === seq);
      if (!record || !event) {
        send(res, 404, NOT_FOUND);
        return true;
      }
      send(
        res,
        200,
        layout({
          title: `Step ${seq} of ${meta.repo}`,
          crumbs: html`<a href="${repoPath(meta.repo)}">${meta.repo}</a><span>/</span><a href="/runs/${id}">run</a><span>/</span>step ${seq}`,
          viewer: session,
          csrf,
          body: html`<section><ol class="steps">${renderEvent(event, null)}</ol></section>`,
        }),
        serverTiming(),
      );
      return true;
    }
    if (action) return false;
    // A finished run never changes: its body is rendered once per process and kept a while.
    const cached = meta.state === 'finished' ? finishedBodies.get(id) : undefined;
    const record = cached ? { meta, events: [], lastStreamId: '' } : await store.getRecord(id);
    if (!record) {
      send(res, 404, NOT_FOUND);
      return true;
    }
    let body = cached;
    if (!body && record.meta.state === 'finished') {
      body = renderRunBody(record);
      finishedBodies.set(id, body);
    }
    send(
      res,
      200,
      renderRunPage({
        record,
        viewer: session,
        canStop: access === 'write',
        stopCsrf: sessions.csrfToken(session, `stop:${id}`),
        logoutCsrf: csrf,
        body,
      }),
      serverTiming(),
    );
    return true;
  }

  return {
    handle,
    get liveViewers() {
      return live.viewers;
    },
  };
}
