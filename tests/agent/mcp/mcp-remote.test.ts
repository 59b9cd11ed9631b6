import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createSilentLogger } from '../../../src/logger.js';
import { McpOperatorConfig } from '../../../worker/agent/mcp/mcp-operator-config.js';
import { startMcpTools } from '../../../worker/agent/mcp/mcp-tools.js';
import {
  OPEN_POLICY,
  PermissionRules,
  resolveToolPolicy,
} from '../../../worker/agent/permissions/tool-policy.js';
import type { ToolContext } from '../../../worker/agent/tool.js';
import type { HarnessEvent } from '../../../worker/agent/tools/harness-events.js';
import type { Sandbox } from '../../../worker/sandbox/sandbox.js';
import { type RemoteMcpFixture, startRemoteMcpServer } from '../../fixtures/mcp/remote-server.js';

const TOKEN = 'remote-token-5d4c3b2a';
/** A sandbox without `spawn`: stdio servers cannot start in it (and nothing else is used here). */
const sandbox = { id: 'none', workdir: '/workspace' } as Sandbox;
const log = createSilentLogger();

/** The remote transport against a real SDK server over Streamable HTTP on loopback (no sandbox needed). */
describe('remote MCP servers', () => {
  let remote: RemoteMcpFixture;
  beforeAll(async () => {
    remote = await startRemoteMcpServer(TOKEN);
  });
  afterAll(async () => {
    await remote.close();
  });

  const operator = (headers: Record<string, string>, tools?: string[]) =>
    McpOperatorConfig.parse({
      stdio: { allow: true },
      remote: { tracker: { url: remote.url, headers, ...(tools ? { tools } : {}) } },
    });

  async function start(
    op: McpOperatorConfig,
    policy = OPEN_POLICY,
    servers: unknown[] = [{ name: 'tracker', remote: 'tracker' }],
  ) {
    const events: HarnessEvent[] = [];
    const mcp = await startMcpTools({
      operator: op,
      requested: servers,
      sandbox,
      policy,
      log,
      signal: new AbortController().signal,
      onEvent: (e) => events.push(e),
    });
    return { mcp, events };
  }

  it('calls tools with the operator credential, concurrently, the operator tool list applied', async () => {
    const { mcp, events } = await start(operator({ Authorization: `Bearer ${TOKEN}` }, ['get_issue']));
    try {
      expect(mcp.tools.map((t) => [t.name, t.concurrent])).toEqual([['mcp__tracker__get_issue', true]]);
      const ctx = { sandbox, signal: new AbortController().signal, log } as ToolContext;
      const r = await mcp.tools[0]?.run({ topic: 'clamp' }, ctx);
      expect(r).toEqual({
        content:
          '<untrusted-data source="mcp:tracker/get_issue">\nTRACK-7: clamp must divide by the number of values.\n</untrusted-data>',
        isError: false,
      });
      expect(remote.calls.at(-1)).toEqual({ tool: 'get_issue', args: { topic: 'clamp' } });
      expect(events).toEqual([
        expect.objectContaining({
          type: 'mcp-server',
          server: 'tracker',
          status: 'started',
          tools: ['mcp__tracker__get_issue'],
        }),
      ]);
    } finally {
      await mcp.close();
    }
  });

  it('a wrong credential fails the server, not the run; a stdio server without Sandbox.spawn fails likewise', async () => {
    const { mcp, events } = await start(operator({ Authorization: 'Bearer wrong' }), OPEN_POLICY, [
      { name: 'tracker', remote: 'tracker' },
      { name: 'docs', command: 'node', args: ['x.cjs'] },
    ]);
    expect(mcp.tools).toEqual([]);
    expect(events.map((e) => e.type === 'mcp-server' && [e.server, e.status])).toEqual([
      ['tracker', 'failed'],
      ['docs', 'failed'],
    ]);
    await mcp.close();
  });

  it('the network rules govern which remote hosts are called; tool rules which tools are offered', async () => {
    const denyHost = resolveToolPolicy(
      PermissionRules.parse({ network: { deny: ['127.0.0.1'] } }),
      undefined,
    );
    const before = remote.authorizations.length;
    const a = await start(operator({ Authorization: `Bearer ${TOKEN}` }), denyHost);
    expect(a.mcp.tools).toEqual([]);
    expect(a.events[0]).toMatchObject({
      type: 'mcp-server',
      status: 'refused',
      reason: expect.stringContaining('network access to "127.0.0.1"'),
    });
    expect(remote.authorizations.length).toBe(before); // never contacted
    const denyTool = resolveToolPolicy(PermissionRules.parse({}), {
      tools: { deny: ['mcp__tracker__delete_*'] },
    });
    const b = await start(operator({ Authorization: `Bearer ${TOKEN}` }), denyTool);
    expect(b.mcp.tools.map((t) => t.name)).toEqual(['mcp__tracker__get_issue']);
    await b.mcp.close();
  });
});

describe('a stdio server that dies before the handshake', () => {
  it('fails with its stderr in the reason and is not left running', async () => {
    let killed = 0;
    const { PassThrough } = await import('node:stream');
    const spawning = {
      id: 'fake',
      workdir: '/workspace',
      async spawn() {
        const stdout = new PassThrough();
        const stderr = new PassThrough();
        const stdin = new PassThrough();
        let exit: (code: number | null) => void = () => undefined;
        const exited = new Promise<number | null>((resolve) => {
          exit = resolve;
        });
        setTimeout(() => {
          stderr.write('Error: Cannot find module /workspace/tools/missing.cjs\n');
          stdout.end();
          exit(1);
        }, 20);
        return {
          stdin,
          stdout,
          stderr,
          exited,
          async kill() {
            killed += 1;
          },
        };
      },
    } as unknown as Sandbox;
    const events: HarnessEvent[] = [];
    const mcp = await startMcpTools({
      operator: McpOperatorConfig.parse({ stdio: { allow: true }, limits: { startTimeoutMs: 2_000 } }),
      requested: [{ name: 'docs', command: 'node', args: ['tools/missing.cjs'] }],
      sandbox: spawning,
      policy: OPEN_POLICY,
      log,
      signal: new AbortController().signal,
      onEvent: (e) => events.push(e),
    });
    expect(mcp.tools).toEqual([]);
    expect(events[0]).toMatchObject({
      type: 'mcp-server',
      status: 'failed',
      reason: expect.stringContaining('Cannot find module'),
    });
    expect(killed).toBeGreaterThanOrEqual(1);
  });
});
