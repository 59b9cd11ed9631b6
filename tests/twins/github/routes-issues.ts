import { labelNames, notFound, nowIso, str, strList, validation } from './http.js';
import { addAssignees, ensureLabel, newIssue, setIssueState } from './records-issues.js';
import { issueParam, paginate, R, type RouteKit } from './router.js';
import type { IssueRec, RepoRec } from './state.js';

/** Issues: list, open, read, edit (title, body, state, labels, assignees), labels and assignees. */
export function registerIssueRoutes({ core, auth, on }: RouteKit): void {
  const { state, ser } = core;
  const issueAccess = { perm: 'issues', level: 'write', userLevel: 'triage' } as const;
  const issueEvent = (
    ctx: Parameters<typeof auth.actorLogin>[0],
    repo: RepoRec,
    issue: IssueRec,
    action: string,
  ) =>
    core.restEvent('issues', repo, auth.actorLogin(ctx), () => ({ action, issue: ser.issue(repo, issue) }));
  const labelsJson = (repo: RepoRec, issue: IssueRec) =>
    issue.labels.map((n) => ser.label(repo, repo.labels.get(n.toLowerCase())!));

  on('GET', `/repos/${R}/${R}/issues`, async (ctx) => {
    const repo = auth.repoAccess(ctx, { perm: 'issues', level: 'read' });
    const q = ctx.url.searchParams;
    const wantState = q.get('state') ?? 'open';
    const labels = (q.get('labels') ?? '')
      .split(',')
      .filter(Boolean)
      .map((l) => l.toLowerCase());
    const assignee = q.get('assignee');
    const creator = q.get('creator');
    const list = [...state.issuesOf(repo).values()]
      .filter((i) => wantState === 'all' || i.state === wantState)
      .filter((i) => labels.every((l) => i.labels.some((x) => x.toLowerCase() === l)))
      .filter((i) => !assignee || i.assignees.some((a) => a.toLowerCase() === assignee.toLowerCase()))
      .filter((i) => !creator || i.author.toLowerCase() === creator.toLowerCase())
      .sort((a, b) => b.number - a.number);
    const page = paginate(ctx, core.config.url, list);
    return { status: 200, json: page.items.map((i) => ser.issue(repo, i)), headers: page.headers };
  });

  on('POST', `/repos/${R}/${R}/issues`, async (ctx) => {
    const repo = auth.repoAccess(ctx, { perm: 'issues', level: 'write', userLevel: 'read' });
    const body = await ctx.body();
    const title = str(body.title);
    if (!title) throw validation([{ resource: 'Issue', field: 'title', code: 'missing_field' }]);
    const issue = newIssue(core, repo, {
      title,
      body: issueBody(body.body),
      author: auth.actorLogin(ctx.auth),
      labels: strList(body.labels),
      assignees: strList(body.assignees),
    });
    issueEvent(ctx.auth, repo, issue, 'opened');
    return { status: 201, json: ser.issue(repo, issue) };
  });

  on('GET', `/repos/${R}/${R}/issues/(\\d+)`, async (ctx) => {
    const repo = auth.repoAccess(ctx, { perm: 'issues', level: 'read' });
    return { status: 200, json: ser.issue(repo, issueParam(state, ctx, repo, 2)) };
  });

  on('PATCH', `/repos/${R}/${R}/issues/(\\d+)`, async (ctx) => {
    const repo = auth.repoAccess(ctx, issueAccess);
    const issue = issueParam(state, ctx, repo, 2);
    const body = await ctx.body();
    if (body.title !== undefined) {
      const t = str(body.title);
      if (!t) throw validation([{ resource: 'Issue', field: 'title', code: 'missing_field' }]);
      issue.title = t;
    }
    if (body.body !== undefined) issue.body = issueBody(body.body);
    if (body.state === 'closed' || body.state === 'open') {
      const wasState = issue.state;
      setIssueState(issue, body.state, str(body.state_reason));
      if (wasState !== issue.state)
        issueEvent(ctx.auth, repo, issue, issue.state === 'closed' ? 'closed' : 'reopened');
    } else if (body.state !== undefined) {
      throw validation([{ resource: 'Issue', field: 'state', code: 'invalid' }]);
    }
    if (body.labels !== undefined) {
      const names = labelNames(body.labels);
      for (const n of names) ensureLabel(core, repo, n);
      issue.labels = [...new Set(names)];
    }
    if (body.assignees !== undefined) {
      issue.assignees = strList(body.assignees).flatMap((a) => {
        const u = state.findUser(a);
        return u ? [u.login] : [];
      });
    }
    issue.updatedAt = nowIso();
    return { status: 200, json: ser.issue(repo, issue) };
  });

  on('POST', `/repos/${R}/${R}/issues/(\\d+)/labels`, async (ctx) => {
    const repo = auth.repoAccess(ctx, issueAccess);
    const issue = issueParam(state, ctx, repo, 2);
    const names = labelNames((await ctx.body()).labels);
    if (names.length === 0) throw validation([{ resource: 'Label', field: 'labels', code: 'missing_field' }]);
    for (const n of names) {
      const l = ensureLabel(core, repo, n);
      if (!issue.labels.some((x) => x.toLowerCase() === l.name.toLowerCase())) issue.labels.push(l.name);
    }
    issue.updatedAt = nowIso();
    return { status: 200, json: labelsJson(repo, issue) };
  });

  on('DELETE', `/repos/${R}/${R}/issues/(\\d+)/labels/${R}`, async (ctx) => {
    const repo = auth.repoAccess(ctx, issueAccess);
    const issue = issueParam(state, ctx, repo, 2);
    const name = decodeURIComponent(ctx.params[3]!).toLowerCase();
    if (!issue.labels.some((l) => l.toLowerCase() === name)) throw notFound('Label does not exist');
    issue.labels = issue.labels.filter((l) => l.toLowerCase() !== name);
    return { status: 200, json: labelsJson(repo, issue) };
  });

  on('POST', `/repos/${R}/${R}/issues/(\\d+)/assignees`, async (ctx) => {
    const repo = auth.repoAccess(ctx, issueAccess);
    const issue = issueParam(state, ctx, repo, 2);
    addAssignees(core, issue, strList((await ctx.body()).assignees));
    return { status: 201, json: ser.issue(repo, issue) };
  });

  on('DELETE', `/repos/${R}/${R}/issues/(\\d+)/assignees`, async (ctx) => {
    const repo = auth.repoAccess(ctx, issueAccess);
    const issue = issueParam(state, ctx, repo, 2);
    const remove = new Set(strList((await ctx.body()).assignees).map((a) => a.toLowerCase()));
    issue.assignees = issue.assignees.filter((a) => !remove.has(a.toLowerCase()));
    issue.updatedAt = nowIso();
    return { status: 200, json: ser.issue(repo, issue) };
  });
}

/** GitHub refuses an issue body over 65536 characters (a dashboard listing many tasks must stay under it). */
function issueBody(v: unknown): string | null {
  const body = str(v) ?? null;
  if (body !== null && body.length > 65_536) {
    throw validation([
      {
        resource: 'Issue',
        field: 'body',
        code: 'custom',
        message: 'body is too long (maximum is 65536 characters)',
      },
    ]);
  }
  return body;
}
