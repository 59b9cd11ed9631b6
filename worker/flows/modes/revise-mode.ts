import { pullRequestMode } from './pull-request-mode.js';

/** `@agent <instruction>` on a PR: apply the instruction to the PR's branch (review threads are context). */
export const reviseMode = pullRequestMode({
  kind: 'revise',
  verb: 'revising',
  subject: 'Apply requested revision',
  needsFeedback: false,
});
