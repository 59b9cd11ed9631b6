import { Octokit } from '@octokit/core';
import { createProbotAuth } from 'octokit-auth-probot';

type ProbotAuthOptions = Parameters<typeof createProbotAuth>[0];
type ProbotAuth = ReturnType<typeof createProbotAuth>;
type HookKind = 'before' | 'after' | 'error' | 'wrap';
type HookFn = (...args: never[]) => unknown;

// Each hook kind has its own signature; they all take (name, fn).
const addHook = (octokit: Octokit, kind: HookKind, name: string, fn: HookFn) =>
  (octokit.hook[kind] as (n: string, f: HookFn) => void)(name, fn);

/**
 * What Probot hands a handler as `context.octokit`, built only when a handler
 * first uses it. Probot asks for one per delivery (`type: 'event-octokit'`)
 * before any handler runs; building it means a new client with its own
 * defaults and auth state, and on the intake benchmark that alone was about
 * a sixth of a delivery's CPU, for a client Pullwright's handlers never use
 * (they go through `GitHubPort`). Hooks registered before it exists (Probot
 * adds one that sends `x-github-delivery`) are replayed onto it when it is
 * built. It offers Octokit core's surface: `request`, `graphql`, `auth`, `hook`.
 */
function createDeferredEventOctokit(build: () => Promise<unknown>) {
  let built: Promise<Octokit> | undefined;
  const pending: [HookKind, string, HookFn][] = [];
  const client = (): Promise<Octokit> => {
    built ??= build().then((value) => {
      const octokit = value as Octokit;
      for (const [kind, name, fn] of pending) addHook(octokit, kind, name, fn);
      pending.length = 0;
      return octokit;
    });
    return built;
  };
  const record = (kind: HookKind) => (name: string, fn: HookFn) => {
    // Once building has started, chain on it: promise callbacks run in the order they were
    // attached, so the hook is in place before any request asked for after this call.
    if (built) void built.then((o) => addHook(o, kind, name, fn));
    else pending.push([kind, name, fn]);
  };
  return {
    hook: { before: record('before'), after: record('after'), error: record('error'), wrap: record('wrap') },
    request: (route: string, parameters?: Record<string, unknown>) =>
      client().then((o) => o.request(route, parameters)),
    graphql: (query: string, parameters?: Record<string, unknown>) =>
      client().then((o) => o.graphql(query, parameters)),
    auth: (options?: unknown) => client().then((o) => o.auth(options)),
  };
}

/**
 * Probot's auth strategy, set up on first use instead of in the constructor.
 * Setting up app auth (a token cache, an OAuth helper) was a visible share of
 * a delivery's cost when Probot made a client per delivery. A handler that
 * does use `context.octokit` gets the real strategy on its first request, with
 * the same behaviour.
 */
function createLazyProbotAuth(options: ProbotAuthOptions): ProbotAuth {
  let strategy: ProbotAuth | undefined;
  const real = (): ProbotAuth => {
    strategy ??= createProbotAuth(options);
    return strategy;
  };
  const auth = ((authOptions: Parameters<ProbotAuth>[0]) =>
    (authOptions as { type?: string }).type === 'event-octokit'
      ? createDeferredEventOctokit(() => real()(authOptions) as Promise<unknown>)
      : real()(authOptions)) as ProbotAuth;
  // The hook's type is a union of each strategy's hook; they all take (request, route, parameters).
  auth.hook = ((request: unknown, route: unknown, parameters?: unknown) =>
    (real().hook as (...args: unknown[]) => unknown)(request, route, parameters)) as ProbotAuth['hook'];
  return auth;
}

/**
 * The Octokit class Probot builds the app's client and each `context.octokit` from.
 *
 * Probot's default is its full REST client (endpoint methods, pagination,
 * retries, throttling, config plugin), and it asks for one for every event
 * before any handler runs: on the trigger path that was the largest single
 * cost of a delivery, larger than our own enqueue. Pullwright's handlers never
 * use `context.octokit`: every GitHub call goes through `GitHubPort`
 * (`app-github-port.ts`), which keeps one client per installation. So Probot
 * gets Octokit's core with Probot's own auth strategy, set up lazily, and the
 * per-event client is only built if a handler uses it: `context.octokit` still
 * works for `request`, `graphql` and `auth`, it just carries no plugins.
 */
export const ProbotContextOctokit = Octokit.defaults({ authStrategy: createLazyProbotAuth });
