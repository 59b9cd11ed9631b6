import { pullRequestMode } from './pull-request-mode.js';

/** `@agent address review` on a PR: answer the unresolved review threads with a commit and replies. */
export const addressReviewMode = pullRequestMode({
  kind: 'address-review',
  verb: 'addressing review',
  subject: 'Address review comments',
  needsFeedback: true,
});
