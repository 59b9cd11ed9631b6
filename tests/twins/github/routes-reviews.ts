import { DOCS, HttpError, notFound, str, validation } from './http.js';
import { newReview, newReviewComment, type ReviewState } from './records-pulls.js';
import { paginate, pullParam, R, type RouteKit } from './router.js';
import type { IssueRec, RepoRec, ReviewCommentRec } from './state.js';

const REVIEW_STATES: Record<string, ReviewState> = {
  APPROVE: 'APPROVED',
  REQUEST_CHANGES: 'CHANGES_REQUESTED',
  COMMENT: 'COMMENTED',
};

/** Reviews and review comments: list and submit reviews, list, create, read and reply to comments. */
export function registerReviewRoutes({ core, auth, on }: RouteKit): void {
  const { state, ser } = core;
  const missingBody = () =>
    validation([{ resource: 'PullRequestReviewComment', field: 'body', code: 'missing_field' }]);

  on('GET', `/repos/${R}/${R}/pulls/(\\d+)/reviews`, async (ctx) => {
    const repo = auth.repoAccess(ctx, { perm: 'pull_requests', level: 'read' });
    const issue = pullParam(state, ctx, repo, 2);
    const list = state.reviews.filter((r) => r.repoId === repo.id && r.number === issue.number);
    const page = paginate(ctx, core.config.url, list);
    return { status: 200, json: page.items.map((r) => ser.review(repo, r)), headers: page.headers };
  });

  on('POST', `/repos/${R}/${R}/pulls/(\\d+)/reviews`, async (ctx) => {
    const repo = auth.repoAccess(ctx, { perm: 'pull_requests', level: 'write' });
    const issue = pullParam(state, ctx, repo, 2);
    const body = await ctx.body();
    const event = str(body.event) ?? 'COMMENT';
    const reviewState = REVIEW_STATES[event];
    if (!reviewState) {
      throw new HttpError(422, {
        message: 'Unprocessable Entity',
        errors: [`Event "${event}" is not one of APPROVE, REQUEST_CHANGES, COMMENT`],
        documentation_url: DOCS,
        status: '422',
      });
    }
    const review = newReview(core, repo, issue, auth.actorLogin(ctx.auth), reviewState, str(body.body) ?? '');
    return { status: 200, json: ser.review(repo, review) };
  });

  on('GET', `/repos/${R}/${R}/pulls/(\\d+)/comments`, async (ctx) => {
    const repo = auth.repoAccess(ctx, { perm: 'pull_requests', level: 'read' });
    const issue = pullParam(state, ctx, repo, 2);
    const list = [...state.reviewComments.values()]
      .filter((c) => c.repoId === repo.id && c.number === issue.number)
      .sort((a, b) => a.id - b.id);
    const page = paginate(ctx, core.config.url, list);
    await core.withHunks(repo, page.items);
    return { status: 200, json: page.items.map((c) => ser.reviewComment(repo, c)), headers: page.headers };
  });

  /** A created review comment's answer, and its webhook when REST changes send them. */
  async function created(actor: string, repo: RepoRec, issue: IssueRec, c: ReviewCommentRec) {
    await core.withHunks(repo, [c]);
    core.restEvent('pull_request_review_comment', repo, actor, () => ({
      action: 'created',
      comment: ser.reviewComment(repo, c),
      pull_request: ser.pull(repo, issue, null),
    }));
    return { status: 201, json: ser.reviewComment(repo, c) };
  }

  on('POST', `/repos/${R}/${R}/pulls/(\\d+)/comments`, async (ctx) => {
    const repo = auth.repoAccess(ctx, { perm: 'pull_requests', level: 'write' });
    const issue = pullParam(state, ctx, repo, 2);
    const body = await ctx.body();
    const text = str(body.body);
    if (!text) throw missingBody();
    const inReplyTo = typeof body.in_reply_to === 'number' ? body.in_reply_to : undefined;
    const line =
      typeof body.line === 'number' ? body.line : typeof body.position === 'number' ? body.position : 1;
    const author = auth.actorLogin(ctx.auth);
    const c = newReviewComment(core, repo, issue, {
      author,
      body: text,
      path: str(body.path),
      line,
      inReplyTo,
    });
    return created(author, repo, issue, c);
  });

  on('GET', `/repos/${R}/${R}/pulls/comments/(\\d+)`, async (ctx) => {
    const repo = auth.repoAccess(ctx, { perm: 'pull_requests', level: 'read' });
    const c = state.reviewComments.get(Number(ctx.params[2]));
    if (!c || c.repoId !== repo.id) throw notFound();
    await core.withHunks(repo, [c]);
    return { status: 200, json: ser.reviewComment(repo, c) };
  });

  on('POST', `/repos/${R}/${R}/pulls/(\\d+)/comments/(\\d+)/replies`, async (ctx) => {
    const repo = auth.repoAccess(ctx, { perm: 'pull_requests', level: 'write' });
    const issue = pullParam(state, ctx, repo, 2);
    const text = str((await ctx.body()).body);
    if (!text) throw missingBody();
    const author = auth.actorLogin(ctx.auth);
    const c = newReviewComment(core, repo, issue, { author, body: text, inReplyTo: Number(ctx.params[3]) });
    return created(author, repo, issue, c);
  });
}
