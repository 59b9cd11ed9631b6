import { Octokit } from '@octokit/core';
import { createProbotAuth } from 'octokit-auth-probot';

type ProbotAuthOptions = Parameters<typeof createProbotAuth>[0];
type ProbotAuth = ReturnType<typeof createProbotAuth>;

/**
 * Probot's auth strategy, set up on first use instead of in the constructor.
 * Probot builds a `context.octokit` for every delivery, and setting up app auth
 * (a token cache, an OAuth helper) for each was a visible share of a delivery's
 * cost; Pullwright's handlers never make a request with it, so it is never
 * needed. A handler that does use `context.octokit` gets the real strategy on
 * its first request, with the same behaviour.
 */
function createLazyProbotAuth(options: ProbotAuthOptions): ProbotAuth {
  let strategy: ProbotAuth | undefined;
  const real = (): ProbotAuth => {
    strategy ??= createProbotAuth(options);
    return strategy;
  };
  const auth = ((authOptions: Parameters<ProbotAuth>[0]) => real()(authOptions)) as ProbotAuth;
  // The hook's type is a union of each strategy's hook; they all take (request, route, parameters).
  auth.hook = ((request: unknown, route: unknown, parameters?: unknown) =>
    (real().hook as (...args: unknown[]) => unknown)(request, route, parameters)) as ProbotAuth['hook'];
  return auth;
}

/**
 * The Octokit class Probot builds `context.octokit` from, one per delivery.
 *
 * Probot's default is its full REST client (endpoint methods, pagination,
 * retries, throttling, config plugin), and it constructs one for every event
 * before any handler runs: on the trigger path that was the largest single
 * cost of a delivery, larger than our own enqueue. Pullwright's handlers never
 * use `context.octokit`: every GitHub call goes through `GitHubPort`
 * (`app-github-port.ts`), which keeps one client per installation. So Probot
 * gets Octokit's core with Probot's own auth strategy, set up lazily:
 * `context.octokit` still works for `request` and `graphql`, it just carries
 * no plugins.
 */
export const ProbotContextOctokit = Octokit.defaults({ authStrategy: createLazyProbotAuth });
