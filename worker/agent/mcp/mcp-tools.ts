import { Client } from '@modelcontextprotocol/sdk/client/index.js';
import { StreamableHTTPClientTransport } from '@modelcontextprotocol/sdk/client/streamableHttp.js';
import type { Transport } from '@modelcontextprotocol/sdk/shared/transport.js';
import { z } from 'zod';
import { sanitizeUntrusted } from '../../../src/domain/sanitize-untrusted.js';
import type { Logger } from '../../../src/logger.js';
import type { Sandbox } from '../../sandbox/sandbox.js';
import { fenceUntrusted } from '../context/fence-untrusted.js';
import { checkNetworkHost, checkToolName, denialMessage } from '../permissions/check-permission.js';
import type { ToolPolicy } from '../permissions/tool-policy.js';
import type { Tool, ToolResult } from '../tool.js';
import type { HarnessEventSink } from '../tools/harness-events.js';
import { type McpOperatorConfig, type McpServerPlan, planMcpServers } from './mcp-operator-config.js';
import { SandboxStdioTransport } from './sandbox-stdio-transport.js';

export interface McpToolsInput {
  operator: McpOperatorConfig;
  /** The repository's `mcp.servers`, as the repo config parsed them (re-validated here). */
  requested: unknown[];
  sandbox: Sandbox;
  policy: ToolPolicy;
  log: Logger;
  signal: AbortSignal;
  onEvent?: HarnessEventSink;
}

export interface McpTools {
  tools: Tool[];
  /** Stops every server (kills the sandbox processes, ends the remote sessions). Idempotent. */
  close(): Promise<void>;
}

const MAX_DESCRIPTION = 1_000;
const MAX_SCHEMA_CHARS = 8_000;
const CLIENT_INFO = { name: 'pullwright', version: '1' };

/** `mcp__<server>__<tool>`, in the characters and length the Messages API accepts for tool names. */
export function mcpToolName(server: string, tool: string): string {
  return `mcp__${server}__${tool.replace(/[^A-Za-z0-9_-]/g, '_')}`.slice(0, 64);
}

/** An input schema we can offer: an object schema of bounded size; anything else becomes a free-form object. */
function inputSchemaOf(schema: unknown): Record<string, unknown> {
  if (schema && typeof schema === 'object' && (schema as { type?: unknown }).type === 'object') {
    const json = JSON.stringify(schema);
    if (json.length <= MAX_SCHEMA_CHARS) {
      const copy = JSON.parse(json) as Record<string, unknown>;
      delete copy.$schema;
      return copy;
    }
  }
  return { type: 'object', additionalProperties: true };
}

function resultText(result: Record<string, unknown>): string {
  const parts: string[] = [];
  const content = Array.isArray(result.content) ? result.content : [];
  for (const c of content as { type?: string; text?: string; resource?: { uri?: string; text?: string } }[]) {
    if (c.type === 'text' && typeof c.text === 'string') parts.push(c.text);
    else if (c.type === 'resource' && c.resource)
      parts.push(c.resource.text ?? `[resource ${c.resource.uri ?? ''}]`);
    else parts.push(`[${c.type ?? 'unknown'} content omitted]`);
  }
  if (parts.length === 0 && result.structuredContent !== undefined)
    parts.push(JSON.stringify(result.structuredContent));
  return parts.join('\n');
}

function capText(text: string, max: number): string {
  if (text.length <= max) return text;
  const head = Math.floor(max * 0.8);
  return `${text.slice(0, head)}\n[... ${text.length - max} characters cut ...]\n${text.slice(text.length - (max - head))}`;
}

async function connect(
  plan: McpServerPlan,
  input: McpToolsInput,
): Promise<{ client: Client; transport: Transport }> {
  const { operator } = input;
  let transport: Transport;
  if (plan.transport === 'remote') {
    // From the host: the URL and headers (credentials) come from the operator's file and never
    // reach the sandbox or the model. Redirects stay within the origin, so a server cannot
    // bounce the credentials to another host.
    transport = new StreamableHTTPClientTransport(new URL(plan.remote.url), {
      requestInit: { headers: plan.remote.headers },
      redirectPolicy: 'same-origin',
    });
  } else {
    transport = new SandboxStdioTransport(input.sandbox, [plan.command, ...plan.args], input.signal);
  }
  const client = new Client(CLIENT_INFO, { capabilities: {} });
  try {
    await client.connect(transport, { timeout: operator.limits.startTimeoutMs, signal: input.signal });
  } catch (err) {
    // A server that started but never completed the handshake must not linger in the sandbox.
    await transport.close().catch(() => undefined);
    const stderr = transport instanceof SandboxStdioTransport ? transport.stderrTail.trim() : '';
    const message = (err as Error).message ?? String(err);
    throw new Error(stderr ? `${message} (stderr: ${stderr.slice(-200)})` : message);
  }
  return { client, transport };
}

/**
 * Starts the repository's MCP servers that the operator allows and offers their tools to
 * the model as `mcp__<server>__<tool>`. Tool lists are read once, at the start, and sorted,
 * so the tool definitions (the cached prefix) never change during the run. Descriptions
 * and results are the server's word: sanitized, capped, and results fenced as untrusted
 * data. Every call obeys the tool policy (`tools` rules on the prefixed name); a remote
 * server's host obeys the `network` rules. A server that fails to start is reported and
 * skipped; the run goes on without it.
 */
export async function startMcpTools(input: McpToolsInput): Promise<McpTools> {
  const { operator, log } = input;
  const emit: HarnessEventSink = (e) => {
    try {
      input.onEvent?.(e);
    } catch (err) {
      log.warn({ err }, 'MCP event handler failed');
    }
  };
  const { servers, refused } = planMcpServers(operator, input.requested);
  for (const r of refused) {
    log.info({ server: r.name, reason: r.reason }, 'MCP server refused');
    emit({
      type: 'mcp-server',
      server: r.name,
      transport: 'remote',
      status: 'refused',
      tools: [],
      reason: r.reason,
    });
  }
  const clients: Client[] = [];
  const tools: Tool[] = [];
  for (const plan of servers) {
    if (plan.transport === 'remote') {
      const host = new URL(plan.remote.url).hostname;
      const d = checkNetworkHost(input.policy, host);
      if (!d.allowed) {
        emit({
          type: 'mcp-server',
          server: plan.name,
          transport: 'remote',
          status: 'refused',
          tools: [],
          reason: denialMessage(d),
        });
        continue;
      }
    }
    let client: Client;
    try {
      ({ client } = await connect(plan, input));
    } catch (err) {
      const reason = sanitizeUntrusted((err as Error).message ?? String(err)).slice(0, 300);
      log.warn({ server: plan.name, transport: plan.transport, reason }, 'MCP server failed to start');
      emit({
        type: 'mcp-server',
        server: plan.name,
        transport: plan.transport,
        status: 'failed',
        tools: [],
        reason,
      });
      continue;
    }
    clients.push(client);
    let listed: { name: string; description?: string; inputSchema?: unknown }[] = [];
    try {
      listed = (
        await client.listTools(undefined, { timeout: operator.limits.startTimeoutMs, signal: input.signal })
      ).tools;
    } catch (err) {
      emit({
        type: 'mcp-server',
        server: plan.name,
        transport: plan.transport,
        status: 'failed',
        tools: [],
        reason: `tools/list failed: ${(err as Error).message}`.slice(0, 300),
      });
      continue;
    }
    const only = plan.transport === 'remote' ? plan.remote.tools : undefined;
    const offered = listed
      .filter((t) => (only ? only.includes(t.name) : true))
      .sort((a, b) => a.name.localeCompare(b.name))
      .slice(0, operator.limits.maxToolsPerServer);
    const names: string[] = [];
    for (const t of offered) {
      const name = mcpToolName(plan.name, t.name);
      // A tool the policy refuses by name is not offered at all (the guard would refuse each call).
      if (names.includes(name) || !checkToolName(input.policy, name).allowed) continue;
      names.push(name);
      tools.push(wrapTool(plan, t, name, client, input));
    }
    emit({
      type: 'mcp-server',
      server: plan.name,
      transport: plan.transport,
      status: 'started',
      tools: names,
    });
  }
  let closed = false;
  return {
    tools,
    async close() {
      if (closed) return;
      closed = true;
      await Promise.all(clients.map((c) => c.close().catch(() => undefined)));
    },
  };
}

function wrapTool(
  plan: McpServerPlan,
  t: { name: string; description?: string; inputSchema?: unknown },
  name: string,
  client: Client,
  input: McpToolsInput,
): Tool {
  const { limits } = input.operator;
  const description = `[MCP server "${plan.name}"${plan.transport === 'remote' ? ', remote' : ''}] ${sanitizeUntrusted(
    t.description ?? '',
  )
    .replace(/\s+/g, ' ')
    .slice(0, MAX_DESCRIPTION)}`;
  return {
    name,
    description,
    input: z.record(z.string(), z.unknown()),
    inputJsonSchema: inputSchemaOf(t.inputSchema),
    // Remote calls are independent HTTP requests; a stdio server in the sandbox may write files, so it runs alone.
    concurrent: plan.transport === 'remote',
    async run(args, ctx): Promise<ToolResult> {
      try {
        const result = (await client.callTool(
          { name: t.name, arguments: args as Record<string, unknown> },
          undefined,
          {
            timeout: limits.callTimeoutMs,
            signal: ctx.signal,
          },
        )) as Record<string, unknown>;
        const text = capText(resultText(result), limits.maxResultChars);
        return {
          content: fenceUntrusted(`mcp:${plan.name}/${t.name}`, text || '(no output)', 'code'),
          isError: result.isError === true,
        };
      } catch (err) {
        const message = sanitizeUntrusted((err as Error).message ?? String(err)).slice(0, 500);
        return { content: `Error: the MCP tool ${name} failed: ${message}`, isError: true };
      }
    },
  };
}
