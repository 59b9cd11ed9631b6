import { Octokit } from '@octokit/core';
import { createProbotAuth } from 'octokit-auth-probot';

/**
 * The Octokit class Probot builds `context.octokit` from, one per delivery.
 *
 * Probot's default is its full REST client (endpoint methods, pagination,
 * retries, throttling, config plugin), and it constructs one for every event
 * before any handler runs: on the trigger path that was the largest single
 * cost of a delivery, larger than our own enqueue. Pullwright's handlers never
 * use `context.octokit`: every GitHub call goes through `GitHubPort`
 * (`app-github-port.ts`), which keeps one client per installation. So Probot
 * gets Octokit's core with Probot's own auth strategy: `context.octokit`
 * still works for `request` and `graphql`, it just carries no plugins.
 */
export const ProbotContextOctokit = Octokit.defaults({ authStrategy: createProbotAuth });
