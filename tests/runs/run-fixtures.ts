import type { Task } from '../../src/domain/task.js';
import type { AgentSessionResult } from '../../worker/session/run-agent-session.js';

export function implementTask(
  overrides: Partial<{
    owner: string;
    name: string;
    installationId: number;
    actor: string;
    number: number;
    instruction: string;
  }> = {},
): Task {
  return {
    kind: 'implement',
    installationId: overrides.installationId ?? 41,
    repo: { owner: overrides.owner ?? 'acme', name: overrides.name ?? 'widgets', id: 7 },
    number: overrides.number ?? 12,
    requestedAt: new Date().toISOString(),
    trigger: {
      source: 'assignment',
      actor: overrides.actor ?? 'alice',
      instruction: overrides.instruction ?? 'add a greeting',
    },
  } as Task;
}

export function sessionResult(
  patch: string,
  costUsd = 0.42,
  plan: { step: string; status: 'pending' | 'in_progress' | 'completed' }[] = [
    { step: 'Read the code', status: 'completed' },
    { step: 'Add greeting', status: 'completed' },
  ],
): AgentSessionResult {
  return {
    agent: {
      outcome: 'finished',
      summary: 'done',
      usage: { input: 1000, output: 200, cacheRead: 50, cacheWrite: 10, costUsd },
      turns: 3,
      durationMs: 1000,
      plan,
      memory: {} as never,
      memoryBytes: 0,
    },
    setup: null,
    verify: [
      {
        command: 'npm test',
        exitCode: 0,
        ok: true,
        timedOut: false,
        durationMs: 1200,
        outputTail: 'all 3 tests passed',
      },
    ],
    blockedHosts: ['evil.example.com'],
    patch: {
      patch,
      paths: ['src/greet.ts'],
      stats: { files: 1, additions: 3, deletions: 0, bytes: patch.length },
    },
  } as unknown as AgentSessionResult;
}

export const DEMO_PATCH = `diff --git a/src/greet.ts b/src/greet.ts
new file mode 100644
--- /dev/null
+++ b/src/greet.ts
@@ -0,0 +1,3 @@
+export function greet(name: string): string {
+  return \`Hello, \${name}!\`;
+}
`;
