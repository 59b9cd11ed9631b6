import type { ReactionTarget } from '../../github/github-port.js';
import type { Logger } from '../../logger.js';
import { actOnTrigger } from '../act-on-trigger.js';
import { defineHandler, type HandlerSpec } from '../delivery-dispatch.js';
import type { DeliveryContext, HandledDeliveryOutcome } from '../delivery-outcome.js';
import type { IntakeContext } from '../intake-context.js';
import type { LoadedRepoConfig } from '../repo-config-source.js';
import { isBot, type MatchContext, matchComment } from '../trigger-matching.js';
import {
  type Account,
  approvalOf,
  IssueCommentEvent,
  PullRequestReviewCommentEvent,
  PullRequestReviewEvent,
  refOf,
} from '../webhook-payloads.js';

/**
 * A mention in an issue comment, a review body or a review comment: three
 * events, one rule. The repo's own trigger phrase comes from its config, and the
 * author must have write access. A body without `@` is ignored before any lookup.
 */
export function createMentionHandlers(ctx: IntakeContext): HandlerSpec[] {
  const { settings } = ctx;
  const phrasesFor = (config: LoadedRepoConfig): MatchContext => ({
    botLogin: settings.botLogin,
    phrases: [config.config.trigger ?? settings.triggerPhrase, `@${settings.appSlug}`],
  });

  async function actOnMention(
    p: { installation: { id: number }; repository: Parameters<typeof refOf>[0] },
    comment: Parameters<typeof matchComment>[0],
    target: Parameters<typeof approvalOf>[0],
    reactOn: ReactionTarget,
    delivery: DeliveryContext,
    log: Logger,
  ): Promise<HandledDeliveryOutcome> {
    const repo = refOf(p.repository);
    const config = await ctx.repoConfigs.load(p.installation.id, repo);
    return actOnTrigger(ctx, matchComment(comment, phrasesFor(config)), {
      installationId: p.installation.id,
      repo,
      sender: comment.author,
      delivery,
      reactOn,
      config,
      log,
      requireAuthorization: true,
      approved: approvalOf(target),
    });
  }

  /** A review body or a review comment: always on a pull request. */
  async function actOnPullRequestMention(
    p: Parameters<typeof actOnMention>[0] & {
      action: string;
      sender: Account;
      pull_request: { number: number } & Parameters<typeof approvalOf>[0];
    },
    source: 'review' | 'review_comment',
    item: { body?: string | null; user: Account; commentId?: number },
    reactOn: ReactionTarget,
    delivery: DeliveryContext,
    log: Logger,
  ): Promise<HandledDeliveryOutcome> {
    if (!item.body?.includes('@') || isBot(p.sender, settings.botLogin)) return 'ignored';
    return actOnMention(
      p,
      {
        source,
        action: p.action,
        number: p.pull_request.number,
        isPullRequest: true,
        body: item.body,
        ...(item.commentId !== undefined ? { commentId: item.commentId } : {}),
        author: item.user,
      },
      p.pull_request,
      reactOn,
      delivery,
      log,
    );
  }

  return [
    defineHandler({
      events: ['issue_comment.created', 'issue_comment.edited'],
      schema: IssueCommentEvent,
      async handle(p, delivery, log) {
        if (p.action !== 'created' || !p.comment.body?.includes('@')) return 'ignored';
        if (isBot(p.sender, settings.botLogin)) return 'ignored';
        return actOnMention(
          p,
          {
            source: 'issue_comment',
            action: p.action,
            number: p.issue.number,
            isPullRequest: p.issue.pull_request !== undefined && p.issue.pull_request !== null,
            body: p.comment.body,
            commentId: p.comment.id,
            author: p.comment.user,
          },
          p.issue,
          { kind: 'issue_comment', commentId: p.comment.id },
          delivery,
          log,
        );
      },
    }),
    defineHandler({
      events: ['pull_request_review.submitted'],
      schema: PullRequestReviewEvent,
      // GitHub has no reactions on reviews; the PR itself gets the 👀.
      handle: (p, delivery, log) =>
        actOnPullRequestMention(
          p,
          'review',
          p.review,
          { kind: 'issue', number: p.pull_request.number },
          delivery,
          log,
        ),
    }),
    defineHandler({
      events: ['pull_request_review_comment.created'],
      schema: PullRequestReviewCommentEvent,
      handle: (p, delivery, log) =>
        actOnPullRequestMention(
          p,
          'review_comment',
          { ...p.comment, commentId: p.comment.id },
          { kind: 'review_comment', commentId: p.comment.id },
          delivery,
          log,
        ),
    }),
  ];
}
