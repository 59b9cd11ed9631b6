import { randomBytes } from 'node:crypto';
import {
  badCredentials,
  type Ctx,
  forbidden,
  type HandlerResult,
  notFound,
  PERMISSION_RANK,
  randomToken,
  requiresAuth,
} from './http.js';
import { paginate, type RouteKit } from './router.js';
import type { Json } from './serialize.js';
import type { RepoRec, UserRec } from './state.js';
import type { TwinCore } from './twin-core.js';
import {
  escapeHtml,
  formBody,
  htmlPage,
  type OAuthClient,
  redirect,
  s256,
  safeReturnTo,
  sessionCookie,
  signInPage,
  type TwinWeb,
  twinWebAt,
  twinWebOf,
} from './twin-web.js';

/**
 * Sign in with GitHub on the twin: the GitHub App user-authorization flow (authorize → code → user
 * access token `ghu_…` with a rotating refresh token, PKCE optional) and the user endpoints a
 * signed-in app calls: `GET /user`, `GET /user/installations`,
 * `GET /user/installations/{id}/repositories` (with the person's permissions on each repository).
 * A person signs in on the twin's web side (twin-web.ts) with their personal token as password.
 */

/** The twin's own app as an OAuth client; its client id is the one `GET /app` reports. */
function ensureDefaultClient(web: TwinWeb): OAuthClient {
  const { appId } = web.core.config;
  const clientId = `Iv1.${appId.toString(16).padStart(16, '0')}`;
  let client = web.clients.get(clientId);
  if (!client) {
    client = {
      clientId,
      clientSecret: randomBytes(20).toString('hex'),
      appId,
      name: web.core.config.slug,
      callbackUrls: [],
    };
    web.clients.set(clientId, client);
  }
  return client;
}

/** The OAuth client of the twin at `url` (tests configure the app's GITHUB_CLIENT_ID/SECRET with it). */
export function twinOAuthClient(url: string): OAuthClient {
  const web = twinWebAt(url);
  return ensureDefaultClient(web);
}

/**
 * GitHub's rule for GitHub Apps: the redirect_uri must be one of the registered callback URLs, or
 * share its host and port with a path under one of them. No registered URL: anything (default app).
 */
function redirectAllowed(client: OAuthClient, redirectUri: string): boolean {
  let target: URL;
  try {
    target = new URL(redirectUri);
  } catch {
    return false;
  }
  if (client.callbackUrls.length === 0) return target.protocol === 'http:' || target.protocol === 'https:';
  return client.callbackUrls.some((cb) => {
    const base = new URL(cb);
    return (
      base.origin === target.origin &&
      (target.pathname === base.pathname || target.pathname.startsWith(base.pathname.replace(/\/?$/, '/')))
    );
  });
}

function withParams(base: string, params: Record<string, string | null | undefined>): string {
  const u = new URL(base);
  for (const [k, v] of Object.entries(params)) if (v !== null && v !== undefined) u.searchParams.set(k, v);
  return u.toString();
}

/** The token endpoint answers form-encoded by default and JSON when asked (Accept), errors with 200. */
function tokenAnswer(ctx: Ctx, body: Record<string, string | number>): HandlerResult {
  const accept = ctx.req.headers.accept ?? '';
  if (accept.includes('application/json')) return { status: 200, json: body };
  const form = new URLSearchParams(
    Object.entries(body).map(([k, v]): [string, string] => [k, String(v)]),
  ).toString();
  return {
    status: 200,
    raw: Buffer.from(form),
    headers: { 'content-type': 'application/x-www-form-urlencoded; charset=utf-8' },
  };
}

const oauthError = (error: string, description: string) => ({
  error,
  error_description: description,
  error_uri:
    'https://docs.github.com/apps/managing-oauth-apps/troubleshooting-oauth-app-access-token-request-errors',
});

/** The person behind a request's bearer token: a user access token, or (like GitHub) a personal token. */
function userOf(web: TwinWeb, ctx: Ctx): { user: UserRec; clientId: string | null } {
  const header = ctx.req.headers.authorization ?? '';
  const m = /^(?:token|bearer)\s+(\S+)$/i.exec(header.trim());
  if (m?.[1]?.startsWith('ghu_')) {
    const user = web.findUserToken(m[1]);
    if (!user) throw badCredentials();
    ctx.record.login = user.login;
    return { user, clientId: web.userTokens.get(m[1])!.clientId };
  }
  if (ctx.auth.kind === 'user') {
    ctx.record.login = ctx.auth.user.login;
    return { user: ctx.auth.user, clientId: null };
  }
  if (ctx.auth.kind === 'none') throw requiresAuth();
  if (ctx.auth.kind === 'jwt' || ctx.auth.kind === 'installation')
    throw forbidden('Resource not accessible by integration');
  throw badCredentials();
}

/** Repositories of an installation the person can see (read or more), as GitHub filters them. */
function visibleRepos(core: TwinCore, installationId: number, login: string): RepoRec[] | null {
  const inst = core.state.installations.get(installationId);
  if (!inst) return null;
  return core.state.installationRepos(inst).filter((r) => core.state.permissionOf(r, login) !== 'none');
}

export function registerOAuthRoutes({ core, on }: RouteKit): void {
  const web = twinWebOf(core);
  ensureDefaultClient(web);
  const { state, ser } = core;

  on('GET', '/login', async (ctx) =>
    signInPage(safeReturnTo(ctx.url.searchParams.get('return_to') ?? undefined)),
  );

  on('POST', '/session', async (ctx) => {
    const form = await formBody(ctx);
    const returnTo = safeReturnTo(form.return_to);
    const user = form.login ? state.findUser(form.login) : undefined;
    // A person (not a bot or an organization) whose personal token is the password.
    if (user?.type !== 'User' || !user.token || user.token !== form.password)
      return signInPage(returnTo, 'Incorrect username or password.');
    return redirect(returnTo, { 'set-cookie': sessionCookie(web.signIn(user.login)) });
  });

  const authorize = async (ctx: Ctx, form: Record<string, string>, confirmed: boolean) => {
    const client = web.client(form.client_id);
    if (!client) return htmlPage(404, 'Not Found', '<p>Unknown client_id.</p>');
    const redirectUri = form.redirect_uri || client.callbackUrls[0];
    if (!redirectUri)
      return htmlPage(400, 'Bad request', '<p>No redirect_uri and no callback URL registered.</p>');
    if (!redirectAllowed(client, redirectUri)) {
      const fallback = client.callbackUrls[0];
      const description = 'The redirect_uri MUST match the registered callback URL for this application.';
      return fallback
        ? redirect(
            withParams(fallback, {
              error: 'redirect_uri_mismatch',
              error_description: description,
              state: form.state,
            }),
          )
        : htmlPage(400, 'Redirect URI mismatch', `<p>${escapeHtml(description)}</p>`);
    }
    const user = web.sessionUser(ctx);
    if (!user)
      return redirect(`/login?return_to=${encodeURIComponent(`${ctx.url.pathname}${ctx.url.search}`)}`);
    const key = `${client.clientId} ${user.login.toLowerCase()}`;
    if (confirmed) {
      if (!web.checkCsrf(ctx, form.authenticity_token))
        return htmlPage(422, 'Invalid form', '<p>Stale form.</p>');
      if (form.authorize !== '1')
        return redirect(withParams(redirectUri, { error: 'access_denied', state: form.state }));
      web.authorized.add(key);
    }
    if (!web.authorized.has(key)) {
      const hidden = ['client_id', 'redirect_uri', 'state', 'code_challenge', 'code_challenge_method']
        .map((k) => (form[k] ? `<input type="hidden" name="${k}" value="${escapeHtml(form[k])}">` : ''))
        .join('');
      return htmlPage(
        200,
        `Authorize ${client.name}`,
        `<p>Signed in as <strong>${escapeHtml(user.login)}</strong>. ${escapeHtml(client.name)} will be able to
verify your identity and act on your behalf where it is installed.</p>
<form method="post" action="/login/oauth/authorize">${hidden}
<input type="hidden" name="authenticity_token" value="${web.csrfFor(ctx)}">
<button type="submit" name="authorize" value="1" id="js-oauth-authorize-btn">Authorize ${escapeHtml(client.name)}</button>
<button type="submit" name="authorize" value="0" style="background:#eee;color:#000">Cancel</button></form>`,
      );
    }
    if (form.code_challenge && form.code_challenge_method && form.code_challenge_method !== 'S256')
      return redirect(withParams(redirectUri, { error: 'invalid_request', state: form.state }));
    const code = randomBytes(10).toString('hex');
    web.codes.set(code, {
      clientId: client.clientId,
      login: user.login,
      redirectUri: form.redirect_uri || null,
      expiresAt: Date.now() + 10 * 60_000,
      challenge: form.code_challenge || null,
    });
    return redirect(withParams(redirectUri, { code, state: form.state }));
  };

  on('GET', '/login/oauth/authorize', async (ctx) =>
    authorize(ctx, Object.fromEntries(ctx.url.searchParams), false),
  );
  on('POST', '/login/oauth/authorize', async (ctx) => authorize(ctx, await formBody(ctx), true));

  on('POST', '/login/oauth/access_token', async (ctx) => {
    const form = { ...Object.fromEntries(ctx.url.searchParams), ...(await formBody(ctx)) };
    const client = web.client(form.client_id);
    if (!client || client.clientSecret !== form.client_secret)
      return tokenAnswer(
        ctx,
        oauthError(
          'incorrect_client_credentials',
          'The client_id and/or client_secret passed are incorrect.',
        ),
      );
    let login: string;
    if (form.grant_type === 'refresh_token') {
      const rec = web.refreshTokens.get(form.refresh_token ?? '');
      if (!rec || rec.clientId !== client.clientId || rec.expiresAt <= Date.now())
        return tokenAnswer(
          ctx,
          oauthError('bad_refresh_token', 'The refresh token passed is incorrect or expired.'),
        );
      web.refreshTokens.delete(form.refresh_token!); // single use, as GitHub rotates refresh tokens
      login = rec.login;
    } else {
      const rec = web.codes.get(form.code ?? '');
      // Codes are single use and live 10 minutes.
      if (rec) web.codes.delete(form.code!);
      if (!rec || rec.clientId !== client.clientId || rec.expiresAt <= Date.now())
        return tokenAnswer(
          ctx,
          oauthError('bad_verification_code', 'The code passed is incorrect or expired.'),
        );
      if (rec.redirectUri && form.redirect_uri && form.redirect_uri !== rec.redirectUri)
        return tokenAnswer(
          ctx,
          oauthError(
            'redirect_uri_mismatch',
            'The redirect_uri MUST match the registered callback URL for this application.',
          ),
        );
      if (rec.challenge && (!form.code_verifier || s256(form.code_verifier) !== rec.challenge))
        return tokenAnswer(
          ctx,
          oauthError('bad_verification_code', 'The code_verifier does not match the code_challenge.'),
        );
      login = rec.login;
    }
    const accessToken = randomToken('ghu_');
    const refreshToken = randomToken('ghr_');
    const now = Date.now();
    web.userTokens.set(accessToken, {
      login,
      clientId: client.clientId,
      expiresAt: now + web.tokenTtlSeconds * 1000,
    });
    const refreshTtl = 15_897_600;
    web.refreshTokens.set(refreshToken, {
      login,
      clientId: client.clientId,
      expiresAt: now + refreshTtl * 1000,
    });
    return tokenAnswer(ctx, {
      access_token: accessToken,
      expires_in: web.tokenTtlSeconds,
      refresh_token: refreshToken,
      refresh_token_expires_in: refreshTtl,
      token_type: 'bearer',
      scope: '',
    });
  });

  on('GET', '/user', async (ctx) => {
    const { user } = userOf(web, ctx);
    const base = ser.user(user.login);
    delete base.user_view_type;
    const created = '2020-01-01T00:00:00Z';
    const json: Json = {
      ...base,
      name: user.login,
      company: null,
      blog: '',
      location: null,
      email: null,
      hireable: null,
      bio: null,
      twitter_username: null,
      public_repos: [...state.repos.values()].filter((r) => r.owner === user.login && !r.private).length,
      public_gists: 0,
      followers: 0,
      following: 0,
      created_at: created,
      updated_at: created,
      private_gists: 0,
      total_private_repos: [...state.repos.values()].filter((r) => r.owner === user.login && r.private)
        .length,
      owned_private_repos: 0,
      disk_usage: 0,
      collaborators: 0,
      two_factor_authentication: true,
    };
    return { status: 200, json };
  });

  /** GitHub lists these only for a user access token of the app, never for a personal token. */
  const requireAppUser = (ctx: Ctx) => {
    const who = userOf(web, ctx);
    if (!who.clientId)
      throw forbidden(
        'You must authenticate with an access token authorized to a GitHub App in order to list installations',
      );
    return who.user;
  };

  on('GET', '/user/installations', async (ctx) => {
    const user = requireAppUser(ctx);
    const list = [...state.installations.values()].filter(
      (inst) => (visibleRepos(core, inst.id, user.login) ?? []).length > 0,
    );
    const page = paginate(ctx, core.config.url, list);
    return {
      status: 200,
      json: { total_count: list.length, installations: page.items.map((i) => ser.installation(i)) },
      headers: page.headers,
    };
  });

  on('GET', '/user/installations/(\\d+)/repositories', async (ctx) => {
    const user = requireAppUser(ctx);
    const repos = visibleRepos(core, Number(ctx.params[0]), user.login);
    // An installation the person cannot see anything of is a 404, as on GitHub.
    if (!repos || repos.length === 0) throw notFound();
    const inst = state.installations.get(Number(ctx.params[0]))!;
    const page = paginate(ctx, core.config.url, repos);
    return {
      status: 200,
      json: {
        total_count: repos.length,
        repository_selection: inst.repos === 'all' ? 'all' : 'selected',
        repositories: page.items.map((r) => {
          const rank = PERMISSION_RANK[state.permissionOf(r, user.login)];
          return {
            ...ser.repo(r),
            permissions: {
              admin: rank >= PERMISSION_RANK.admin,
              maintain: rank >= PERMISSION_RANK.maintain,
              push: rank >= PERMISSION_RANK.write,
              triage: rank >= PERMISSION_RANK.triage,
              pull: rank >= PERMISSION_RANK.read,
            },
          };
        }),
      },
      headers: page.headers,
    };
  });
}
