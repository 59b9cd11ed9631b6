import { createPublicKey, generateKeyPair, randomBytes } from 'node:crypto';
import { promisify } from 'node:util';
import { type Ctx, type HandlerResult, notFound } from './http.js';
import { R, type RouteKit } from './router.js';
import type { Json } from './serialize.js';
import { escapeHtml, formBody, htmlPage, redirect, sessionCookie, twinWebOf } from './twin-web.js';

/**
 * Registering a GitHub App from a manifest, as github.com does it
 * (https://docs.github.com/apps/sharing-github-apps/registering-a-github-app-from-a-manifest):
 * an app's page POSTs the manifest (and a `state`) to `/settings/apps/new` (or an organization's
 * `/organizations/{org}/settings/apps/new`); a signed-in person confirms; GitHub redirects to the
 * manifest's `redirect_url` with a one-time `code` and the `state`; the app exchanges the code at
 * `POST /app-manifests/{code}/conversions` for its id, key, webhook secret and OAuth client.
 *
 * The twin is single-app: converting a manifest makes the twin act as the new app from then on (its
 * JWTs verify, webhooks are signed with its new secret and sent to the manifest's hook URL).
 */

const generateKeyPairAsync = promisify(generateKeyPair);

interface PendingApp {
  manifest: Manifest;
  owner: string;
  expiresAt: number;
}

interface Manifest {
  name: string;
  url: string;
  description: string;
  hookUrl: string | null;
  hookActive: boolean;
  redirectUrl: string | null;
  callbackUrls: string[];
  setupUrl: string | null;
  isPublic: boolean;
  events: string[];
  permissions: Record<string, string>;
}

function isHttpUrl(v: unknown): v is string {
  if (typeof v !== 'string') return false;
  try {
    const u = new URL(v);
    return u.protocol === 'http:' || u.protocol === 'https:';
  } catch {
    return false;
  }
}

/** Validates the manifest like GitHub: `url` is required, a hook URL when webhooks are active. */
export function parseManifest(raw: string | undefined): Manifest | string {
  if (!raw) return 'The manifest is missing.';
  let m: Json;
  try {
    const parsed: unknown = JSON.parse(raw);
    if (!parsed || typeof parsed !== 'object' || Array.isArray(parsed))
      return 'The manifest must be a JSON object.';
    m = parsed as Json;
  } catch {
    return 'The manifest is not valid JSON.';
  }
  if (!isHttpUrl(m.url)) return 'Url must be a valid URL.';
  const hook = (m.hook_attributes ?? {}) as Json;
  const hookActive = hook.active !== false && hook.url !== undefined;
  if (hook.url !== undefined && !isHttpUrl(hook.url)) return 'Hook url must be a valid URL.';
  if (m.redirect_url !== undefined && !isHttpUrl(m.redirect_url)) return 'Redirect url must be a valid URL.';
  const callbackUrls = Array.isArray(m.callback_urls) ? m.callback_urls : [];
  if (callbackUrls.some((u) => !isHttpUrl(u))) return 'Callback urls must be valid URLs.';
  if (callbackUrls.length > 10) return 'Callback urls: at most 10.';
  const permissions: Record<string, string> = {};
  for (const [k, v] of Object.entries((m.default_permissions ?? {}) as Json)) {
    if (v !== 'read' && v !== 'write' && v !== 'admin')
      return `Default permission ${k} must be read or write.`;
    permissions[k] = String(v);
  }
  return {
    name: typeof m.name === 'string' && m.name.trim() ? m.name.trim().slice(0, 34) : 'GitHub App',
    url: m.url,
    description: typeof m.description === 'string' ? m.description : '',
    hookUrl: typeof hook.url === 'string' ? hook.url : null,
    hookActive,
    redirectUrl: typeof m.redirect_url === 'string' ? m.redirect_url : null,
    callbackUrls: callbackUrls as string[],
    setupUrl: isHttpUrl(m.setup_url) ? m.setup_url : null,
    isPublic: m.public === true,
    events: Array.isArray(m.default_events)
      ? m.default_events.filter((e): e is string => typeof e === 'string')
      : [],
    permissions,
  };
}

function slugify(name: string): string {
  return (
    name
      .toLowerCase()
      .replace(/[^a-z0-9]+/g, '-')
      .replace(/^-+|-+$/g, '') || 'app'
  );
}

function confirmPage(
  csrf: string,
  m: Manifest,
  raw: string,
  state: string,
  owner: string,
  action: string,
): HandlerResult {
  const perms = Object.entries(m.permissions)
    .map(([k, v]) => `<li>${escapeHtml(k)}: ${escapeHtml(v)}</li>`)
    .join('');
  return htmlPage(
    200,
    `Create GitHub App for ${owner}`,
    `<p>GitHub App name</p><p><strong id="app-name">${escapeHtml(m.name)}</strong></p>
<p>Webhook URL: <code>${escapeHtml(m.hookUrl ?? '(none)')}</code></p>
<p>Events: ${escapeHtml(m.events.join(', ') || '(none)')}</p><ul>${perms}</ul>
<form method="post" action="${escapeHtml(action)}">
<input type="hidden" name="manifest" value="${escapeHtml(raw)}">
<input type="hidden" name="state" value="${escapeHtml(state)}">
<input type="hidden" name="authenticity_token" value="${csrf}">
<input type="hidden" name="confirm" value="1">
<button type="submit" id="create-app">Create GitHub App for ${escapeHtml(owner)}</button></form>`,
  );
}

/** The sign-in form of the new-app page: a POST cannot be replayed after a redirect, so it posts back here. */
function signInHere(action: string, raw: string, state: string, error?: string): HandlerResult {
  return htmlPage(
    error ? 401 : 200,
    'Sign in to GitHub to create the app',
    `${error ? `<p class="error" role="alert">${escapeHtml(error)}</p>` : ''}
<form method="post" action="${escapeHtml(action)}">
<input type="hidden" name="manifest" value="${escapeHtml(raw)}">
<input type="hidden" name="state" value="${escapeHtml(state)}">
<label>Username <input name="login" id="login_field" required></label>
<label>Password (your personal token on the twin) <input name="password" id="password" type="password" required></label>
<button type="submit" name="commit">Sign in</button></form>`,
  );
}

export function registerManifestRoutes({ core, on }: RouteKit): void {
  const web = twinWebOf(core);
  const pending = new Map<string, PendingApp>();

  const newApp = async (ctx: Ctx, org: string | null): Promise<HandlerResult> => {
    const form = await formBody(ctx);
    const state = form.state ?? ctx.url.searchParams.get('state') ?? '';
    const raw = form.manifest ?? '';
    const action = `${ctx.url.pathname}${ctx.url.search}`;
    let user = web.sessionUser(ctx);
    const headers: Record<string, string> = {};
    let csrf = web.csrfFor(ctx);
    if (!user && form.login !== undefined) {
      const candidate = core.state.findUser(form.login);
      if (candidate?.type !== 'User' || !candidate.token || candidate.token !== form.password)
        return signInHere(action, raw, state, 'Incorrect username or password.');
      user = candidate;
      const session = web.signIn(user.login);
      headers['set-cookie'] = sessionCookie(session);
      csrf = web.csrfForSession(session);
    }
    if (!user) return signInHere(action, raw, state);
    let owner = user.login;
    if (org !== null) {
      const account = core.state.findUser(org);
      if (account?.type !== 'Organization') throw notFound();
      owner = account.login;
    }
    const manifest = parseManifest(raw);
    if (typeof manifest === 'string')
      return htmlPage(422, 'Invalid GitHub App manifest', `<p class="error">${escapeHtml(manifest)}</p>`);
    if (form.confirm !== '1' || headers['set-cookie']) {
      const page = confirmPage(csrf, manifest, raw, state, owner, action);
      return { ...page, headers: { ...page.headers, ...headers } };
    }
    if (!web.checkCsrf(ctx, form.authenticity_token))
      return htmlPage(422, 'Invalid form', '<p>Stale form: reload the page.</p>');
    // GitHub's manifest codes are single use and expire after one hour.
    const code = randomBytes(20).toString('hex');
    pending.set(code, { manifest, owner, expiresAt: Date.now() + 3_600_000 });
    if (!manifest.redirectUrl)
      return htmlPage(201, 'GitHub App created', `<p>Exchange this code: <code id="code">${code}</code></p>`);
    const to = new URL(manifest.redirectUrl);
    to.searchParams.set('code', code);
    if (state) to.searchParams.set('state', state);
    return redirect(to.toString());
  };

  on('POST', '/settings/apps/new', async (ctx) => newApp(ctx, null));
  on('POST', `/organizations/${R}/settings/apps/new`, async (ctx) =>
    newApp(ctx, decodeURIComponent(ctx.params[0]!)),
  );

  on('POST', '/app-manifests/([^/]+)/conversions', async (ctx) => {
    const code = ctx.params[0]!;
    const p = pending.get(code);
    if (p) pending.delete(code);
    if (!p || p.expiresAt <= Date.now()) throw notFound();
    const m = p.manifest;
    const { privateKey } = await generateKeyPairAsync('rsa', {
      modulusLength: 2048,
      privateKeyEncoding: { type: 'pkcs1', format: 'pem' },
      publicKeyEncoding: { type: 'spki', format: 'pem' },
    });
    const id = core.state.id();
    const slug = slugify(m.name);
    const webhookSecret = randomBytes(20).toString('hex');
    core.adoptApp({
      id,
      slug,
      name: m.name,
      owner: p.owner,
      publicKey: createPublicKey(privateKey),
      webhookSecret,
      webhookUrl: m.hookActive ? m.hookUrl : null,
    });
    const clientId = `Iv1.${id.toString(16).padStart(16, '0')}`;
    const clientSecret = randomBytes(20).toString('hex');
    web.clients.set(clientId, {
      clientId,
      clientSecret,
      appId: id,
      name: m.name,
      callbackUrls: m.callbackUrls,
    });
    const json: Json = {
      ...core.ser.appJson(),
      description: m.description || null,
      external_url: m.url,
      permissions: { metadata: 'read', ...m.permissions },
      events: m.events,
      installations_count: 0,
      client_id: clientId,
      client_secret: clientSecret,
      webhook_secret: webhookSecret,
      pem: privateKey,
    };
    return { status: 201, json };
  });
}
