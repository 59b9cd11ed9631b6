import { badCredentials, notFound, requiresAuth, strList } from './http.js';
import { paginate, R, type RouteKit } from './router.js';
import type { Json } from './serialize.js';
import type { AccessLevel } from './types.js';

/** The app's own endpoints (app JWT) and what an installation token may list. */
export function registerAppRoutes({ core, auth, on }: RouteKit): void {
  const { state, ser } = core;
  const url = core.config.url;

  on('GET', '/app', async (ctx) => {
    auth.requireJwt(ctx);
    return { status: 200, json: ser.appJson() };
  });

  on('GET', '/app/installations', async (ctx) => {
    auth.requireJwt(ctx);
    const page = paginate(
      ctx,
      url,
      [...state.installations.values()].map((i) => ser.installation(i)),
    );
    return { status: 200, json: page.items, headers: page.headers };
  });

  on('GET', '/app/installations/(\\d+)', async (ctx) => {
    auth.requireJwt(ctx);
    const inst = state.installations.get(Number(ctx.params[0]));
    if (!inst) throw notFound();
    return { status: 200, json: ser.installation(inst) };
  });

  on('POST', '/app/installations/(\\d+)/access_tokens', async (ctx) => {
    auth.requireJwt(ctx);
    const inst = state.installations.get(Number(ctx.params[0]));
    if (!inst) throw notFound();
    const body = await ctx.body();
    const repositories = body.repositories === undefined ? undefined : strList(body.repositories);
    const repositoryIds = Array.isArray(body.repository_ids)
      ? body.repository_ids.filter((x): x is number => typeof x === 'number')
      : undefined;
    const permissions =
      body.permissions && typeof body.permissions === 'object'
        ? (body.permissions as Record<string, AccessLevel>)
        : undefined;
    const minted = auth.mintToken(inst, { repositories, repositoryIds, permissions });
    const json: Json = {
      token: minted.token,
      expires_at: minted.expiresAt,
      permissions: minted.rec.permissions,
      repository_selection: minted.rec.repos ? 'selected' : inst.repos === 'all' ? 'all' : 'selected',
    };
    if (minted.rec.repos) json.repositories = auth.tokenRepos(minted.rec).map((r) => ser.repo(r));
    return { status: 201, json };
  });

  on('GET', `/repos/${R}/${R}/installation`, async (ctx) => {
    auth.requireJwt(ctx);
    const repo = state.findRepo(`${ctx.params[0]}/${ctx.params[1]}`);
    const inst = repo ? state.installationForRepo(repo) : undefined;
    if (!inst) throw notFound();
    return { status: 200, json: ser.installation(inst) };
  });

  on('GET', '/installation/repositories', async (ctx) => {
    if (ctx.auth.kind !== 'installation') throw ctx.auth.kind === 'none' ? requiresAuth() : badCredentials();
    const inst = state.installations.get(ctx.auth.rec.installationId)!;
    ctx.record.installationId = inst.id;
    const repos = auth.tokenRepos(ctx.auth.rec);
    const page = paginate(ctx, url, repos);
    return {
      status: 200,
      json: {
        total_count: repos.length,
        repositories: page.items.map((r) => ser.repo(r)),
        repository_selection: inst.repos === 'all' ? 'all' : 'selected',
      },
      headers: page.headers,
    };
  });
}
