import { hostname } from 'node:os';
import { afterAll, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import { runAgent } from '../../../worker/agent/loop/run-agent.js';
import { McpOperatorConfig } from '../../../worker/agent/mcp/mcp-operator-config.js';
import { PermissionRules } from '../../../worker/agent/permissions/tool-policy.js';
import { createRunTools } from '../../../worker/agent/tools/create-run-tools.js';
import type { HarnessEvent } from '../../../worker/agent/tools/harness-events.js';
import { bundleDocsServer } from '../../fixtures/mcp/bundle-fixture.js';
import { type RemoteMcpFixture, startRemoteMcpServer } from '../../fixtures/mcp/remote-server.js';
import { type ModelTwin, startModelTwin } from '../../twins/model/index.js';
import { harnessToolsScenario } from '../../twins/model/scenarios/harness-tools.js';
import { twinRunOptions } from '../loop/twin-run.js';
import { type DockerRepo, startDockerRepo } from '../subagents/docker-repo.js';

const TOKEN = 'op-held-credential-9f8e7d6c5b4a';

interface Body {
  tools?: { name: string }[];
  messages: { role: string; content: unknown }[];
}

/**
 * MCP through the real loop, SDK and tools against the model twin: a stdio server (built
 * with the SDK) started INSIDE the Docker sandbox, a remote one over Streamable HTTP on
 * loopback called from the host with the operator's credential, plus the policy.
 */
describe('MCP tools against the model twin', { timeout: 400_000 }, () => {
  let twin: ModelTwin;
  let remote: RemoteMcpFixture;
  let repo: DockerRepo;

  beforeAll(async () => {
    twin = await startModelTwin({ scenario: harnessToolsScenario });
    remote = await startRemoteMcpServer(TOKEN);
  });
  afterAll(async () => {
    await twin.close();
    await remote.close();
  });
  beforeEach(async () => {
    twin.reset();
    repo = await startDockerRepo();
    await bundleDocsServer(repo.workspace);
    return async () => {
      await repo.dispose();
    };
  });

  it('offers the allowed servers tools with a prefix, fences and caps results, keeps credentials on the host', async () => {
    const events: HarnessEvent[] = [];
    // A generous wall budget: the machine may be shared (each `npm test` in a container can take seconds).
    const base = {
      ...twinRunOptions(twin, repo.scratch, 'harness-tools', { timeoutMs: 120_000 }),
      sandbox: repo.sandbox,
      budgets: { maxTurns: 40, maxCostUsd: 5, maxWallMs: 380_000 },
    };
    const runTools = await createRunTools({
      harness: {
        policy: PermissionRules.parse({
          shell: { deny: ['git push'] },
          tools: { deny: ['mcp__tracker__delete_*'] },
        }),
        mcp: McpOperatorConfig.parse({
          stdio: { allow: true, commands: ['node'] },
          remote: { tracker: { url: remote.url, headers: { Authorization: `Bearer ${TOKEN}` } } },
          limits: { maxResultChars: 4_000 },
        }),
        subagentShell: false,
        subagents: false,
      },
      model: base.model,
      sandbox: repo.sandbox,
      repo: {
        permissions: { shell: { deny: ['rm -rf'] } },
        mcp: {
          servers: [
            { name: 'docs', command: 'node', args: ['tools/mcp-docs.cjs'] },
            { name: 'tracker', remote: 'tracker' },
            { name: 'stranger', remote: 'not-defined' },
            { name: 'shell', command: 'bash', args: ['-c', 'id'] },
          ],
        },
      },
      transcriptPath: base.transcriptPath,
      secrets: [twin.apiKey],
      log: base.log,
      signal: base.signal,
      onEvent: (e) => events.push(e),
    });
    let result: Awaited<ReturnType<typeof runAgent>>;
    let running: string;
    try {
      result = await runAgent({ ...base, tools: runTools.tools });
      running = (await repo.sandbox.exec({ cmd: 'ps -eo args' })).stdout;
    } finally {
      await runTools.close();
    }
    // The server process lived in the sandbox during the run.
    expect(running).toMatch(/mcp-docs\.cjs/);
    expect(result.outcome).toBe('succeeded');

    // Servers: the two the operator allows started; an undefined remote and a disallowed command refused.
    const servers = events.filter(
      (e): e is Extract<HarnessEvent, { type: 'mcp-server' }> => e.type === 'mcp-server',
    );
    expect(servers.map((s) => [s.server, s.status])).toEqual([
      ['stranger', 'refused'],
      ['shell', 'refused'],
      ['docs', 'started'],
      ['tracker', 'started'],
    ]);
    // The effective policy is published for the run record: both layers.
    const policyEvent = events.find((e) => e.type === 'tool-policy');
    expect(JSON.stringify(policyEvent)).toContain('"source":"operator"');
    expect(JSON.stringify(policyEvent)).toContain('"source":"repo"');

    // Tools appear with the server prefix, sorted; the tool the policy denies is not offered.
    const first = twin.requests[0]?.body as Body;
    const names = (first.tools ?? []).map((t) => t.name);
    expect(names.filter((n) => n.startsWith('mcp__'))).toEqual([
      'mcp__docs__environment',
      'mcp__docs__fails',
      'mcp__docs__lookup',
      'mcp__docs__noisy',
      'mcp__tracker__get_issue',
    ]);
    // The tool list never changed during the run (prompt caching).
    for (const r of twin.requests)
      expect(JSON.stringify((r.body as Body).tools)).toBe(JSON.stringify(first.tools));

    const last = twin.requests.at(-1)?.body as Body;
    const results = new Map<string, { content: string; is_error?: boolean }>();
    const uses = new Map<string, string>();
    for (const m of last.messages)
      for (const b of m.content as {
        type: string;
        id?: string;
        name?: string;
        tool_use_id?: string;
        content?: string;
        is_error?: boolean;
      }[]) {
        if (b.type === 'tool_use' && b.id && b.name) uses.set(b.id, b.name);
        if (b.type === 'tool_result' && b.tool_use_id) {
          const name = uses.get(b.tool_use_id);
          if (name) results.set(name, { content: b.content ?? '', is_error: b.is_error });
        }
      }
    // The stdio server ran inside the sandbox: its working directory is the sandbox workspace,
    // it runs as the sandbox user, on the container's host name, with no key or token in its environment.
    const env = results.get('mcp__docs__environment')?.content ?? '';
    expect(env).toMatch(/^<untrusted-data source="mcp:docs\/environment">/);
    const seen = JSON.parse(env.split('\n').slice(1, -1).join('\n')) as {
      cwd: string;
      uid: number;
      hostname: string;
      envKeys: string[];
    };
    expect(seen.cwd).toBe(repo.sandbox.workdir);
    expect(seen.uid).toBe(1000);
    expect(seen.hostname).not.toBe(hostname());
    expect(seen.envKeys.join(' ')).not.toMatch(/ANTHROPIC|GITHUB|TOKEN|KEY|SECRET/);
    // It read the repository's README through the workspace.
    expect(results.get('mcp__docs__lookup')?.content).toContain('`average(values)`: the arithmetic mean');
    // The remote server got the operator's credential; neither the model nor the sandbox ever did.
    expect(results.get('mcp__tracker__get_issue')?.content).toContain('TRACK-7: average must divide');
    expect(remote.authorizations.length).toBeGreaterThan(0);
    expect(remote.authorizations.every((a) => a === `Bearer ${TOKEN}`)).toBe(true);
    expect(JSON.stringify(twin.requests.map((r) => r.body))).not.toContain(TOKEN);
    const grep = await repo.sandbox.exec({
      cmd: `grep -rl ${TOKEN} / --exclude-dir=proc --exclude-dir=sys 2>/dev/null; env`,
      timeoutMs: 60_000,
    });
    expect(grep.stdout).not.toContain(TOKEN);
    // Results are capped (head and tail kept) and fenced: the server cannot close the fence.
    const noisy = results.get('mcp__docs__noisy')?.content ?? '';
    expect(noisy.length).toBeLessThan(4_500);
    expect(noisy).toContain('TAIL-MARKER');
    expect(noisy).toContain('characters cut');
    expect(noisy.match(/<\/untrusted-data>/g)).toHaveLength(1);
    expect(noisy.trimEnd().endsWith('</untrusted-data>')).toBe(true);
    // An MCP error result is a tool error for the model.
    expect(results.get('mcp__docs__fails')?.is_error).toBe(true);
    // The policy still holds around MCP: the git push was denied.
    expect(events.some((e) => e.type === 'permission-denied' && e.tool === 'bash')).toBe(true);
    expect(result.summary).toContain('mcp__tracker__get_issue: <untrusted-data');

    // close() stopped the server inside the sandbox.
    const ps = await repo.sandbox.exec({ cmd: 'ps -eo args' });
    expect(ps.stdout).not.toMatch(/mcp-docs\.cjs/);
  });
});
