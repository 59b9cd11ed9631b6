import { listBranches, resolveRef } from './git.js';
import { type Ctx, notFound, str, validation } from './http.js';
import { ciSer, combined, newStatus, sendStatus } from './records-ci.js';
import { paginate, R, type RouteKit } from './router.js';
import type { RepoRec } from './state.js';
import type { StatusState } from './state-ci.js';

/** Commit statuses: create, list for a ref, and the combined status (latest per context). */
export function registerStatusRoutes({ core, auth, on }: RouteKit): void {
  const { state } = core;
  const refSha = async (ctx: Ctx, repo: RepoRec) => {
    const sha = await resolveRef(repo.gitDir, decodeURIComponent(ctx.params[2] ?? ''));
    if (!sha) throw notFound(`No commit found for SHA: ${ctx.params[2]}`);
    return sha;
  };

  on('POST', `/repos/${R}/${R}/statuses/([0-9a-fA-F]{4,40})`, async (ctx) => {
    const repo = auth.repoAccess(ctx, { perm: 'statuses', level: 'write' });
    const body = await ctx.body();
    const st = str(body.state);
    if (!st || !['error', 'failure', 'pending', 'success'].includes(st)) {
      throw validation([
        { resource: 'Status', field: 'state', code: 'custom', message: 'state is not included in the list' },
      ]);
    }
    const sha = await resolveRef(repo.gitDir, ctx.params[2]!);
    if (!sha)
      throw validation(
        [{ resource: 'Status', field: 'sha', code: 'invalid' }],
        `No commit found for SHA: ${ctx.params[2]}`,
      );
    const rec = newStatus(core, repo, {
      sha,
      state: st as StatusState,
      context: str(body.context),
      description: str(body.description) ?? null,
      targetUrl: str(body.target_url) ?? null,
      creator: auth.actorLogin(ctx.auth),
    });
    if (core.config.restWebhooks) {
      core.sendLater(async () => {
        const branches = Object.entries(await listBranches(repo.gitDir)).filter(([, s]) => s === sha);
        await sendStatus(
          core,
          repo,
          rec,
          branches.map(([b]) => b),
        );
      });
    }
    return { status: 201, json: ciSer(core).status(repo, rec) };
  });

  on('GET', `/repos/${R}/${R}/commits/(.+)/statuses`, async (ctx) => {
    const repo = auth.repoAccess(ctx, { perm: 'statuses', level: 'read' });
    const sha = await refSha(ctx, repo);
    const list = state.ci.statuses.filter((s) => s.repoId === repo.id && s.sha === sha).reverse();
    const page = paginate(ctx, core.config.url, list);
    return { status: 200, json: page.items.map((s) => ciSer(core).status(repo, s)), headers: page.headers };
  });

  on('GET', `/repos/${R}/${R}/commits/(.+)/status`, async (ctx) => {
    const repo = auth.repoAccess(ctx, { perm: 'statuses', level: 'read' });
    const sha = await refSha(ctx, repo);
    const c = combined(core, repo, sha);
    const page = paginate(ctx, core.config.url, c.statuses);
    return {
      status: 200,
      json: {
        state: c.state,
        sha,
        total_count: c.statuses.length,
        statuses: page.items.map((s) => {
          // The combined view omits the creator, as GitHub's simple status does.
          const { creator: _creator, ...rest } = ciSer(core).status(repo, s);
          return rest;
        }),
        repository: core.ser.repo(repo),
        commit_url: `${core.config.url}/repos/${repo.fullName}/commits/${sha}`,
        url: `${core.config.url}/repos/${repo.fullName}/commits/${sha}/status`,
      },
      headers: page.headers,
    };
  });
}
