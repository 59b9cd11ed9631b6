import { createHash, createHmac, randomBytes, timingSafeEqual } from 'node:crypto';
import { type Ctx, type HandlerResult, readBody } from './http.js';
import type { UserRec } from './state.js';
import type { TwinCore } from './twin-core.js';

/**
 * The twin's web side, shared by the OAuth (routes-oauth.ts) and manifest (routes-manifest.ts)
 * routes: a person signs in on the twin (their personal token is their password), and web forms
 * carry a CSRF token bound to that session, as github.com's `authenticity_token`.
 */

export const SESSION_COOKIE = 'twin_user_session';

/** An OAuth client: the twin's own app, or an app registered through the manifest flow. */
export interface OAuthClient {
  clientId: string;
  clientSecret: string;
  appId: number;
  name: string;
  /** Registered callback URLs; empty accepts any redirect_uri (the default app, whose URL tests pick). */
  callbackUrls: string[];
}

export interface UserTokenRec {
  login: string;
  clientId: string;
  expiresAt: number;
}

/** Everything the web routes remember, one per twin. */
export class TwinWeb {
  readonly sessions = new Map<string, string>();
  readonly clients = new Map<string, OAuthClient>();
  readonly codes = new Map<
    string,
    {
      clientId: string;
      login: string;
      redirectUri: string | null;
      expiresAt: number;
      challenge: string | null;
    }
  >();
  readonly userTokens = new Map<string, UserTokenRec>();
  readonly refreshTokens = new Map<string, UserTokenRec>();
  /** `${clientId} ${login}` once the person authorized the app (later sign-ins skip the prompt). */
  readonly authorized = new Set<string>();
  /** User access token lifetime (GitHub: 8 hours); tests shorten it to exercise refresh. */
  tokenTtlSeconds = 8 * 3600;
  private readonly csrfKey = randomBytes(32);

  constructor(readonly core: TwinCore) {}

  /** The signed-in person of a web request, or null. */
  sessionUser(ctx: Ctx): UserRec | null {
    const cookie = parseCookies(ctx.req.headers.cookie)[SESSION_COOKIE];
    const login = cookie ? this.sessions.get(cookie) : undefined;
    return login ? (this.core.state.findUser(login) ?? null) : null;
  }

  /** Starts a web session for `login` (the sign-in form, or a test that skips it). */
  signIn(login: string): string {
    const value = randomBytes(24).toString('hex');
    this.sessions.set(value, login);
    return value;
  }

  csrfFor(ctx: Ctx): string {
    return this.csrfForSession(parseCookies(ctx.req.headers.cookie)[SESSION_COOKIE] ?? '');
  }

  /** The form token of a session value (a page answering the very request that signed in). */
  csrfForSession(session: string): string {
    return createHmac('sha256', this.csrfKey).update(session).digest('hex');
  }

  checkCsrf(ctx: Ctx, token: string | undefined): boolean {
    const want = Buffer.from(this.csrfFor(ctx));
    const got = Buffer.from(token ?? '');
    return got.length === want.length && timingSafeEqual(got, want);
  }

  client(clientId: string | undefined): OAuthClient | undefined {
    return clientId ? this.clients.get(clientId) : undefined;
  }

  /** A user access token (`ghu_…`) still valid, or null. */
  findUserToken(token: string): UserRec | null {
    const rec = this.userTokens.get(token);
    if (!rec || rec.expiresAt <= Date.now()) return null;
    return this.core.state.findUser(rec.login) ?? null;
  }
}

const webs = new WeakMap<TwinCore, TwinWeb>();
const byUrl = new Map<string, TwinWeb>();

/** The web state of a twin's core, created on first use. */
export function twinWebOf(core: TwinCore): TwinWeb {
  let web = webs.get(core);
  if (!web) {
    web = new TwinWeb(core);
    webs.set(core, web);
    // Keyed by URL too so a test holding only `twin.url` reaches it; a newer twin on a reused port wins.
    byUrl.set(core.config.url, web);
  }
  return web;
}

/** The web state of the in-process twin listening at `url` (tests). */
export function twinWebAt(url: string): TwinWeb {
  const web = byUrl.get(url);
  if (!web) throw new Error(`No GitHub twin with OAuth routes at ${url}`);
  return web;
}

export function parseCookies(header: string | undefined): Record<string, string> {
  const out: Record<string, string> = {};
  for (const part of (header ?? '').split(';')) {
    const i = part.indexOf('=');
    if (i > 0) out[part.slice(0, i).trim()] = decodeURIComponent(part.slice(i + 1).trim());
  }
  return out;
}

/** A web form or API body: urlencoded or JSON (GitHub's token endpoint takes both). */
export async function formBody(ctx: Ctx): Promise<Record<string, string>> {
  const raw = (await readBody(ctx.req, 1024 * 1024)).toString('utf8');
  const type = ctx.req.headers['content-type'] ?? '';
  const out: Record<string, string> = {};
  if (type.includes('application/json')) {
    try {
      const parsed: unknown = JSON.parse(raw || '{}');
      if (parsed && typeof parsed === 'object')
        for (const [k, v] of Object.entries(parsed))
          if (typeof v === 'string' || typeof v === 'number') out[k] = String(v);
    } catch {
      // An unparsable body is an empty form: the handler reports the missing fields.
    }
    return out;
  }
  for (const [k, v] of new URLSearchParams(raw)) out[k] = v;
  return out;
}

export function escapeHtml(s: string): string {
  return s.replace(/[&<>"']/g, (c) => `&#${c.charCodeAt(0)};`);
}

/** A plain twin web page. */
export function htmlPage(
  status: number,
  title: string,
  body: string,
  headers: Record<string, string> = {},
): HandlerResult {
  const html = `<!doctype html><html lang="en"><head><meta charset="utf-8"><title>${escapeHtml(title)} · GitHub twin</title>
<style>body{font:15px system-ui,sans-serif;max-width:36rem;margin:3rem auto;padding:0 1rem}form{display:grid;gap:.6rem}
input,button{font:inherit;padding:.45rem}button{background:#1f883d;color:#fff;border:0;border-radius:6px;cursor:pointer}
.error{color:#b00}</style></head><body><h1>${escapeHtml(title)}</h1>${body}</body></html>`;
  return {
    status,
    raw: Buffer.from(html),
    headers: { 'content-type': 'text/html; charset=utf-8', 'cache-control': 'no-store', ...headers },
  };
}

export function redirect(location: string, headers: Record<string, string> = {}): HandlerResult {
  return {
    status: 302,
    raw: Buffer.alloc(0),
    headers: { location, 'cache-control': 'no-store', ...headers },
  };
}

/** A same-origin path to return to after sign-in; anything else (an open redirect) goes home. */
export function safeReturnTo(value: string | undefined): string {
  return value?.startsWith('/') && !value.startsWith('//') && !value.includes('\\') ? value : '/';
}

/** The sign-in page, posting back to /session with where to go next. */
export function signInPage(returnTo: string, error?: string): HandlerResult {
  return htmlPage(
    error ? 401 : 200,
    'Sign in to GitHub',
    `${error ? `<p class="error" role="alert">${escapeHtml(error)}</p>` : ''}
<form method="post" action="/session">
<input type="hidden" name="return_to" value="${escapeHtml(returnTo)}">
<label>Username <input name="login" id="login_field" autocomplete="username" required></label>
<label>Password (your personal token on the twin) <input name="password" id="password" type="password" required></label>
<button type="submit" name="commit">Sign in</button></form>`,
  );
}

export function sessionCookie(value: string): string {
  return `${SESSION_COOKIE}=${value}; Path=/; HttpOnly; SameSite=Lax`;
}

/** base64url(sha256(verifier)): PKCE's S256 challenge. */
export function s256(verifier: string): string {
  return createHash('sha256').update(verifier).digest('base64url');
}

/** A signed-in web session on the twin at `url` for `login`, as a cookie a browser test can set. */
export function twinSignInCookie(url: string, login: string): { name: string; value: string; url: string } {
  return { name: SESSION_COOKIE, value: twinWebAt(url).signIn(login), url };
}
