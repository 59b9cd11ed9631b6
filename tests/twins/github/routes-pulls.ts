import { gitDiff, listBranches } from './git.js';
import { nowIso, str, validation } from './http.js';
import { setIssueState } from './records-issues.js';
import { assertNoOtherOpenPull, newPull } from './records-pulls.js';
import { paginate, pullParam, R, type RouteKit } from './router.js';
import type { Json } from './serialize.js';
import type { IssueRec } from './state.js';

/** Pull requests: list (by state, head, base), open, read (JSON or diff), edit and close or reopen. */
export function registerPullRoutes({ core, auth, on }: RouteKit): void {
  const { state, ser } = core;
  const invalid = (field: string) => validation([{ resource: 'PullRequest', field, code: 'invalid' }]);

  on('GET', `/repos/${R}/${R}/pulls`, async (ctx) => {
    const repo = auth.repoAccess(ctx, { perm: 'pull_requests', level: 'read' });
    const q = ctx.url.searchParams;
    const wantState = q.get('state') ?? 'open';
    const head = q.get('head');
    const base = q.get('base');
    let headOwner: string | null = null;
    let headBranch: string | null = null;
    if (head) {
      const i = head.indexOf(':');
      headOwner = i < 0 ? head : head.slice(0, i);
      headBranch = i < 0 ? null : head.slice(i + 1);
    }
    const list = [...state.issuesOf(repo).values()]
      .filter((i) => i.pull)
      .filter((i) => wantState === 'all' || i.state === wantState)
      .filter((i) => !base || i.pull!.base === base)
      .filter((i) => {
        if (!head) return true;
        // `owner:branch` names the repository holding the branch: a fork's owner for a fork.
        const holder = i.pull!.headRepoId === null ? repo : state.repoById(i.pull!.headRepoId);
        return (
          headOwner?.toLowerCase() === holder?.owner.toLowerCase() &&
          (headBranch === null || i.pull!.head === headBranch)
        );
      })
      .sort((a, b) => b.number - a.number);
    const page = paginate(ctx, core.config.url, list);
    return { status: 200, json: page.items.map((i) => ser.pull(repo, i, null)), headers: page.headers };
  });

  on('POST', `/repos/${R}/${R}/pulls`, async (ctx) => {
    const repo = auth.repoAccess(ctx, { perm: 'pull_requests', level: 'write' });
    const body = await ctx.body();
    const title = str(body.title);
    let head = str(body.head);
    const base = str(body.base);
    const missing: Json[] = [];
    if (!head) missing.push({ resource: 'PullRequest', field: 'head', code: 'missing_field' });
    if (!base) missing.push({ resource: 'PullRequest', field: 'base', code: 'missing_field' });
    if (!title && body.issue === undefined) {
      missing.push({ resource: 'PullRequest', field: 'title', code: 'missing_field' });
    }
    if (missing.length) throw validation(missing);
    // `owner:branch` from another account names that account's fork (`head_repo` names it outright,
    // which GitHub requires when both are owned by the same organization).
    let headRepo: string | undefined;
    const headRepoName = str(body.head_repo);
    if (head!.includes(':')) {
      const [owner, branch] = head!.split(':', 2) as [string, string];
      head = branch;
      if (owner.toLowerCase() !== repo.owner.toLowerCase() || headRepoName) {
        const fork = headRepoName
          ? state.findRepo(headRepoName.includes('/') ? headRepoName : `${owner}/${headRepoName}`)
          : [...state.repos.values()].find(
              (r) =>
                r.forkOf === repo.id &&
                r.owner.toLowerCase() === owner.toLowerCase() &&
                state.findRepo(r.fullName),
            );
        if (!fork || fork.forkOf !== repo.id || fork.owner.toLowerCase() !== owner.toLowerCase())
          throw invalid('head');
        headRepo = fork.fullName;
      }
    }
    const issue = await newPull(core, repo, {
      head: head!,
      headRepo,
      base: base!,
      title: title ?? '',
      body: str(body.body) ?? null,
      author: auth.actorLogin(ctx.auth),
      draft: body.draft === true,
    });
    pullEvent(ctx.auth, issue, 'opened');
    for (const listen of core.pullOpenedListeners) listen(repo, issue, auth.actorLogin(ctx.auth));
    return { status: 201, json: await core.fullPull(repo, issue) };
  });

  function pullEvent(actor: Parameters<typeof auth.actorLogin>[0], issue: IssueRec, action: string) {
    const repo = state.repoById(issue.repoId)!;
    core.restEvent('pull_request', repo, auth.actorLogin(actor), async () => ({
      action,
      ...(await core.subject(repo, issue)),
    }));
  }

  on('GET', `/repos/${R}/${R}/pulls/(\\d+)`, async (ctx) => {
    const repo = auth.repoAccess(ctx, { perm: 'pull_requests', level: 'read' });
    const issue = pullParam(state, ctx, repo, 2);
    const accept = String(ctx.req.headers.accept ?? '');
    if (accept.includes('application/vnd.github.diff') || accept.includes('application/vnd.github.v3.diff')) {
      const diff = await gitDiff(repo.gitDir, issue.pull!.baseSha, issue.pull!.headSha);
      return {
        status: 200,
        raw: Buffer.from(diff),
        headers: { 'content-type': 'text/plain; charset=utf-8' },
      };
    }
    return { status: 200, json: await core.fullPull(repo, issue) };
  });

  on('PATCH', `/repos/${R}/${R}/pulls/(\\d+)`, async (ctx) => {
    const repo = auth.repoAccess(ctx, { perm: 'pull_requests', level: 'write' });
    const issue = pullParam(state, ctx, repo, 2);
    const body = await ctx.body();
    if (body.title !== undefined) issue.title = str(body.title) ?? issue.title;
    if (body.body !== undefined) issue.body = str(body.body) ?? null;
    if (body.base !== undefined) {
      const base = str(body.base) ?? '';
      const sha = (await listBranches(repo.gitDir))[base];
      if (!sha) throw invalid('base');
      issue.pull!.base = base;
      issue.pull!.baseSha = sha;
    }
    if (body.state === 'open' || body.state === 'closed') {
      if (body.state === 'open' && issue.state === 'closed') assertNoOtherOpenPull(core, repo, issue);
      const wasState = issue.state;
      setIssueState(issue, body.state);
      if (wasState !== issue.state)
        pullEvent(ctx.auth, issue, issue.state === 'closed' ? 'closed' : 'reopened');
    } else if (body.state !== undefined) {
      throw invalid('state');
    }
    issue.updatedAt = nowIso();
    return { status: 200, json: await core.fullPull(repo, issue) };
  });
}
