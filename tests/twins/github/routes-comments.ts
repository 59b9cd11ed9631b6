import { type Ctx, forbidden, notFound, nowIso, PERMISSION_RANK, str, validation } from './http.js';
import { editCommentBody, newComment } from './records-issues.js';
import { issueParam, paginate, R, type RouteKit } from './router.js';
import type { ReactionRec, RepoRec } from './state.js';

const REACTIONS = new Set(['+1', '-1', 'laugh', 'confused', 'heart', 'hooray', 'rocket', 'eyes']);

/** Issue comments (list, create, read, edit, delete) and reactions on issues and comments. */
export function registerCommentRoutes({ core, auth, on }: RouteKit): void {
  const { state, ser } = core;
  const missingBody = () => validation([{ resource: 'IssueComment', field: 'body', code: 'missing_field' }]);

  const commentParam = (ctx: Ctx, repo: RepoRec) => {
    const c = state.comments.get(Number(ctx.params[2]));
    if (!c || c.repoId !== repo.id) throw notFound();
    return c;
  };

  on('GET', `/repos/${R}/${R}/issues/(\\d+)/comments`, async (ctx) => {
    const repo = auth.repoAccess(ctx, { perm: 'issues', level: 'read' });
    const issue = issueParam(state, ctx, repo, 2);
    const since = ctx.url.searchParams.get('since');
    const list = [...state.comments.values()]
      .filter((c) => c.repoId === repo.id && c.issueNumber === issue.number)
      .filter((c) => !since || c.updatedAt >= since)
      .sort((a, b) => a.id - b.id);
    const page = paginate(ctx, core.config.url, list);
    return { status: 200, json: page.items.map((c) => ser.comment(repo, c)), headers: page.headers };
  });

  on('POST', `/repos/${R}/${R}/issues/(\\d+)/comments`, async (ctx) => {
    const repo = auth.repoAccess(ctx, { perm: 'issues', level: 'write', userLevel: 'read' });
    const issue = issueParam(state, ctx, repo, 2);
    const body = str((await ctx.body()).body);
    if (!body) throw missingBody();
    const c = newComment(core, repo, issue.number, body, auth.actorLogin(ctx.auth));
    core.restEvent('issue_comment', repo, auth.actorLogin(ctx.auth), () => ({
      action: 'created',
      issue: ser.issue(repo, issue),
      comment: ser.comment(repo, c),
    }));
    return { status: 201, json: ser.comment(repo, c) };
  });

  on('GET', `/repos/${R}/${R}/issues/comments/(\\d+)`, async (ctx) => {
    const repo = auth.repoAccess(ctx, { perm: 'issues', level: 'read' });
    return { status: 200, json: ser.comment(repo, commentParam(ctx, repo)) };
  });

  on('PATCH', `/repos/${R}/${R}/issues/comments/(\\d+)`, async (ctx) => {
    const repo = auth.repoAccess(ctx, { perm: 'issues', level: 'write', userLevel: 'read' });
    const c = commentParam(ctx, repo);
    const actor = auth.actorLogin(ctx.auth);
    if (ctx.auth.kind === 'user' && c.author.toLowerCase() !== actor.toLowerCase()) {
      if (PERMISSION_RANK[state.permissionOf(repo, actor)] < PERMISSION_RANK.write)
        throw forbidden('Forbidden');
    }
    const body = str((await ctx.body()).body);
    if (!body) throw missingBody();
    const from = c.body;
    editCommentBody(c, body);
    core.restEvent('issue_comment', repo, actor, () => ({
      action: 'edited',
      changes: { body: { from } },
      issue: ser.issue(repo, core.mustIssue(repo, c.issueNumber)),
      comment: ser.comment(repo, c),
    }));
    return { status: 200, json: ser.comment(repo, c) };
  });

  on('DELETE', `/repos/${R}/${R}/issues/comments/(\\d+)`, async (ctx) => {
    const repo = auth.repoAccess(ctx, { perm: 'issues', level: 'write' });
    state.comments.delete(commentParam(ctx, repo).id);
    return { status: 204 };
  });

  /** One reaction per user, subject and content: a repeat answers 200 with the existing one. */
  async function react(ctx: Ctx, repo: RepoRec, subject: ReactionRec['subject'], subjectId: number) {
    const content = str((await ctx.body()).content);
    if (!content || !REACTIONS.has(content)) {
      throw validation([{ resource: 'Reaction', field: 'content', code: 'invalid' }]);
    }
    const user = auth.actorLogin(ctx.auth);
    const existing = state.reactions.find(
      (r) =>
        r.subject === subject &&
        r.subjectId === subjectId &&
        r.content === content &&
        r.user.toLowerCase() === user.toLowerCase(),
    );
    if (existing) return { status: 200, json: ser.reaction(existing) };
    const r: ReactionRec = {
      id: state.id(),
      repoId: repo.id,
      subject,
      subjectId,
      content,
      user,
      createdAt: nowIso(),
    };
    state.reactions.push(r);
    return { status: 201, json: ser.reaction(r) };
  }

  const reactAccess = (ctx: Ctx, perm: string) =>
    auth.repoAccess(ctx, { perm, level: 'write', userLevel: 'read' });

  on('POST', `/repos/${R}/${R}/issues/(\\d+)/reactions`, async (ctx) => {
    const repo = reactAccess(ctx, 'issues');
    return react(ctx, repo, 'issue', issueParam(state, ctx, repo, 2).id);
  });
  on('POST', `/repos/${R}/${R}/issues/comments/(\\d+)/reactions`, async (ctx) => {
    const repo = reactAccess(ctx, 'issues');
    return react(ctx, repo, 'issue_comment', commentParam(ctx, repo).id);
  });
  on('POST', `/repos/${R}/${R}/pulls/comments/(\\d+)/reactions`, async (ctx) => {
    const repo = reactAccess(ctx, 'pull_requests');
    const c = state.reviewComments.get(Number(ctx.params[2]));
    if (!c || c.repoId !== repo.id) throw notFound();
    return react(ctx, repo, 'review_comment', c.id);
  });
}
