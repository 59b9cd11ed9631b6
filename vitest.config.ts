import { defineConfig } from 'vitest/config';

/**
 * Test files that need a real service from `scripts/services.sh up` (Redis, the Docker engine and
 * the sandbox image), that run real git over HTTP with child processes (tests/workspace's
 * git-http-server, tests/integration), that deploy with docker-compose (tests/deploy), or that run
 * Redis behind Sentinel (tests/ha): the `integration` project. Every other test file is `unit` and
 * runs with `npm run test:unit`, without any service.
 *
 * Folder rules where a folder is all integration, file rules where a folder is mixed. Only `*` and
 * `**` are used, so tests/docs/test-split.test.ts can check this list without a glob library. That
 * test also fails when a unit file imports Redis, BullMQ, dockerode or a helper that starts them, so
 * a new service test cannot land in the fast set unnoticed: add it here (or move it to a folder here).
 */
export const INTEGRATION_TESTS = [
  'tests/e2e/**/*.test.ts',
  'tests/queue/**/*.test.ts',
  'tests/cli/**/*.test.ts',
  'tests/sandbox/docker-sandbox-*.test.ts',
  'tests/integration/**/*.test.ts',
  'tests/deploy/**/*.test.ts',
  'tests/ha/**/*.test.ts',
  'tests/agent/context/build-context.test.ts',
  'tests/agent/tools/default-tools.test.ts',
  'tests/app/app-server.test.ts',
  'tests/app/authorization.test.ts',
  'tests/app/intake-twin.test.ts',
  'tests/workspace/workspace.test.ts',
  'tests/workspace/host-lock.test.ts',
  'tests/browser/**/*.test.ts',
  'tests/eval/**/*.test.ts',
  'tests/setup/*.e2e.test.ts',
  'tests/app/integration/**/*.test.ts',
  'tests/agent/subagents/**/*.test.ts',
  'tests/agent/mcp/**/*.test.ts',
  'tests/agent/review/*-twin.test.ts',
];

export const ALL_TESTS = 'tests/**/*.test.ts';

export default defineConfig({
  test: {
    // Integration tests share one Redis and one Docker engine on a 2-core machine.
    maxWorkers: 2,
    testTimeout: 60_000,
    hookTimeout: 120_000,
    reporters: ['default'],
    // PULLWRIGHT_TMP_CHECK=1 fails a test file that leaves files in its temp dir (off otherwise).
    setupFiles: ['tests/docs/tmpdir-guard.ts'],
    // `npm test` (`vitest run`) runs both projects; `npm run test:unit` only `unit`.
    projects: [
      {
        extends: true,
        // Unit files share a worker's module graph instead of loading probot, octokit and zod anew
        // per file: the import time of the unit project falls from about 80 s to about 20 s.
        // Three workers on two cores: unit tests wait on twins over HTTP, timers and fixed delays
        // often enough that a third worker keeps both cores busy (bench/RESULTS.md: about 7-10 s
        // less wall time for the same CPU time). Vitest runs projects with different maxWorkers as
        // separate groups, so `npm test` runs the unit group first, then integration with two.
        test: {
          name: 'unit',
          include: [ALL_TESTS],
          exclude: INTEGRATION_TESTS,
          isolate: false,
          maxWorkers: 3,
          sequence: { groupOrder: 0 },
        },
      },
      {
        extends: true,
        test: { name: 'integration', include: INTEGRATION_TESTS, sequence: { groupOrder: 1 } },
      },
    ],
  },
});
