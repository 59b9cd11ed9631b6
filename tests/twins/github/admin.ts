import type { FaultInjector } from './faults.js';
import { listBranches } from './git.js';
import { type Ctx, invalidBody, notFound, str } from './http.js';
import { jobLogDownload } from './routes-actions.js';
import type { Json } from './serialize.js';
import type { TwinCore } from './twin-core.js';
import type { FaultRule, SeedFile, TwinActions, TwinInspect, TwinSeed } from './types.js';
import type { CiOutcomeInput, CiRunInput, TwinCi } from './types-ci.js';

export interface AdminApi {
  ci: TwinCi;
  seed: TwinSeed;
  actions: TwinActions;
  inspect: TwinInspect;
  faults: FaultInjector;
}

/** `/_twin/…`: the test-control API over HTTP, for the standalone twin (loopback only, no auth). */
export async function handleAdmin(
  core: TwinCore,
  api: AdminApi,
  ctx: Ctx,
): Promise<{ status: number; json?: unknown; text?: string }> {
  const { state, deliverer } = core;
  const p = ctx.url.pathname;
  const method = ctx.req.method ?? 'GET';
  if (method === 'GET' && p === '/_twin/state') {
    return {
      status: 200,
      json: {
        url: core.config.url,
        app: { id: core.config.appId, slug: core.config.slug, botLogin: core.config.botLogin },
        webhookUrl: deliverer.url,
        users: [...state.users.values()].map((u) => ({
          login: u.login,
          id: u.id,
          type: u.type,
          token: u.token,
        })),
        installations: [...state.installations.values()].map((i) => ({
          id: i.id,
          account: i.account,
          repos: state.installationRepos(i).map((r) => r.fullName),
        })),
        repos: await Promise.all(
          [...state.repos.values()].map(async (r) => ({
            fullName: r.fullName,
            branches: await listBranches(r.gitDir),
            issues: api.inspect.issues(r.fullName),
            pulls: api.inspect.pulls(r.fullName),
            comments: api.inspect.comments(r.fullName),
          })),
        ),
      },
    };
  }
  if (method === 'GET' && p === '/_twin/deliveries') return { status: 200, json: deliverer.log };
  if (method === 'GET' && p === '/_twin/requests') return { status: 200, json: core.requests };
  const redeliver = /^\/_twin\/deliveries\/([^/]+)\/redeliver$/.exec(p);
  if (method === 'POST' && redeliver) return { status: 200, json: await deliverer.redeliver(redeliver[1]!) };
  if (method === 'PUT' && p === '/_twin/webhook-url') {
    deliverer.url = str((await ctx.body()).url) ?? null;
    return { status: 200, json: { url: deliverer.url } };
  }
  if (method === 'POST' && p === '/_twin/seed') {
    await api.seed.apply((await ctx.body()) as SeedFile);
    return { status: 200, json: { ok: true } };
  }
  if (method === 'POST' && p === '/_twin/faults') {
    const body = await ctx.body();
    const path = str(body.path);
    const rule = { ...(body as unknown as FaultRule), path: path?.startsWith('^') ? new RegExp(path) : path };
    return { status: 201, json: { id: api.faults.add(rule) } };
  }
  if (method === 'DELETE' && p === '/_twin/faults') {
    api.faults.clear();
    return { status: 204 };
  }
  if (method === 'GET' && p === '/_twin/faults') return { status: 200, json: api.faults.list() };
  if (method === 'POST' && p === '/_twin/resolve-thread') {
    const body = await ctx.body();
    const threadId = str(body.threadId);
    if (!threadId) throw invalidBody('threadId is required');
    api.seed.resolveThread(threadId, body.resolved !== false);
    return { status: 200, json: { threadId, resolved: body.resolved !== false } };
  }
  const log = /^\/_twin\/job-logs\/([0-9a-f]+)$/.exec(p);
  if (method === 'GET' && log) return jobLogDownload(core, log[1]!);
  if (method === 'POST' && p === '/_twin/ci/enable') {
    const body = await ctx.body();
    if (body.enabled === false) api.ci.disable(str(body.repo));
    else api.ci.enable(str(body.repo));
    return { status: 200, json: { ok: true } };
  }
  if (method === 'POST' && p === '/_twin/ci/outcome') {
    api.ci.outcome((await ctx.body()) as unknown as CiOutcomeInput);
    return { status: 200, json: { ok: true } };
  }
  if (method === 'POST' && p === '/_twin/ci/run') {
    return { status: 200, json: await api.ci.run((await ctx.body()) as unknown as CiRunInput) };
  }
  if (method === 'POST' && p === '/_twin/ci/status') {
    return {
      status: 200,
      json: await api.ci.status((await ctx.body()) as unknown as Parameters<TwinCi['status']>[0]),
    };
  }
  if (method === 'POST' && p === '/_twin/ci/idle') {
    await api.ci.idle();
    return { status: 200, json: { ok: true } };
  }
  if (method === 'GET' && p === '/_twin/ci/runs') {
    return { status: 200, json: api.ci.workflowRuns(str(ctx.url.searchParams.get('repo')) ?? '') };
  }
  const action = /^\/_twin\/actions\/([A-Za-z]+)$/.exec(p);
  if (method === 'POST' && action) {
    const name = action[1] as keyof TwinActions;
    const fn = api.actions[name] as ((input: Json) => Promise<unknown>) | undefined;
    if (!fn || !Object.hasOwn(api.actions, name)) throw notFound();
    return { status: 200, json: await fn(await ctx.body()) };
  }
  throw notFound();
}
