/**
 * Config for a test's own git (a person's clone): no `git maintenance run --auto` / `gc --auto`
 * after each commit, fetch or push (a process each; a throwaway clone never needs one).
 */
export const NO_AUTO_MAINTENANCE = {
  GIT_CONFIG_COUNT: '2',
  GIT_CONFIG_KEY_0: 'maintenance.auto',
  GIT_CONFIG_VALUE_0: 'false',
  GIT_CONFIG_KEY_1: 'gc.auto',
  GIT_CONFIG_VALUE_1: '0',
} as const;

/**
 * An environment for running the `git` CLI in tests against the twin: no user or system config,
 * never prompting (a refused credential fails fast), a fixed identity.
 */
export function isolatedGitEnv(home: string): NodeJS.ProcessEnv {
  return {
    ...NO_AUTO_MAINTENANCE,
    PATH: process.env.PATH,
    HOME: home,
    GIT_CONFIG_NOSYSTEM: '1',
    GIT_CONFIG_GLOBAL: '/dev/null',
    GIT_TERMINAL_PROMPT: '0',
    GIT_ASKPASS: '/bin/false',
    GIT_AUTHOR_NAME: 'Tester',
    GIT_AUTHOR_EMAIL: 'tester@example.com',
    GIT_COMMITTER_NAME: 'Tester',
    GIT_COMMITTER_EMAIL: 'tester@example.com',
  };
}
