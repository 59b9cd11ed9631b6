import type { TwinAuth } from './auth.js';
import { type Ctx, type Handler, notFound } from './http.js';
import type { IssueRec, RepoRec, TwinState } from './state.js';
import type { TwinCore } from './twin-core.js';

/** The REST route table, and the parameter and paging helpers every resource's routes share. */

/** One path segment; `{owner}/{repo}` is `${R}/${R}`, read back as `ctx.params[0]` and `[1]`. */
export const R = '([^/]+)';

interface Route {
  method: string;
  pattern: RegExp;
  handler: Handler;
}

export class Router {
  private readonly routes: Route[] = [];

  on(method: string, path: string, handler: Handler): void {
    this.routes.push({ method, pattern: new RegExp(`^${path}$`), handler });
  }

  /** The handler for a request, with the path's captured groups. */
  match(method: string, path: string): { handler: Handler; params: string[] } | null {
    for (const route of this.routes) {
      const m = route.pattern.exec(path);
      if (m && route.method === method) return { handler: route.handler, params: m.slice(1) };
    }
    return null;
  }
}

/** What a resource's route module registers its routes with. */
export interface RouteKit {
  core: TwinCore;
  auth: TwinAuth;
  on: Router['on'];
}

/** `per_page`/`page` slicing with GitHub's `Link` header. */
export function paginate<T>(
  ctx: Ctx,
  baseUrl: string,
  items: T[],
): { items: T[]; headers: Record<string, string> } {
  const perPage = Math.min(100, Math.max(1, Number(ctx.url.searchParams.get('per_page') ?? 30) || 30));
  const page = Math.max(1, Number(ctx.url.searchParams.get('page') ?? 1) || 1);
  const last = Math.max(1, Math.ceil(items.length / perPage));
  const link = (p: number) => {
    const u = new URL(ctx.url.toString());
    u.searchParams.set('per_page', String(perPage));
    u.searchParams.set('page', String(p));
    return `${baseUrl}${u.pathname}${u.search}`;
  };
  const links: string[] = [];
  if (page > 1) links.push(`<${link(page - 1)}>; rel="prev"`, `<${link(1)}>; rel="first"`);
  if (page < last) links.push(`<${link(page + 1)}>; rel="next"`, `<${link(last)}>; rel="last"`);
  return {
    items: items.slice((page - 1) * perPage, page * perPage),
    headers: links.length ? { link: links.join(', ') } : {},
  };
}

/** The issue (or pull request) numbered by path parameter `i`; 404 when absent. */
export function issueParam(state: TwinState, ctx: Ctx, repo: RepoRec, i: number): IssueRec {
  const issue = state.issuesOf(repo).get(Number(ctx.params[i]));
  if (!issue) throw notFound();
  return issue;
}

/** Like `issueParam`, but an issue that is not a pull request is a 404 too. */
export function pullParam(state: TwinState, ctx: Ctx, repo: RepoRec, i: number): IssueRec {
  const issue = issueParam(state, ctx, repo, i);
  if (!issue.pull) throw notFound();
  return issue;
}
