import { z } from 'zod';
import { parseOperatorFile, readOperatorFile } from '../../../src/config/operator-file.js';

/**
 * The operator's MCP settings (MCP_SERVERS_FILE, YAML or JSON): which servers a repository
 * may use, and the remote servers with their credentials. Without the file no MCP server
 * runs: a repository's `mcp.servers` asks, the operator decides.
 *
 * ```yaml
 * stdio:                       # servers a repo starts INSIDE its sandbox
 *   allow: true                # default false
 *   commands: [node, python3]  # command names they may use; [] = any
 * remote:                      # servers called from the host; credentials never enter a sandbox
 *   tracker:
 *     url: https://tracker.example/mcp
 *     headers: { Authorization: "Bearer …" }
 *     tools: [get_issue]       # optional: only these tools are offered
 * limits: { maxServers: 4, maxToolsPerServer: 32, maxResultChars: 12000, callTimeoutMs: 60000, startTimeoutMs: 20000 }
 * ```
 */
const serverName = z
  .string()
  .regex(/^[a-z0-9][a-z0-9_-]{0,31}$/, 'must be lowercase letters, digits, "_" or "-"');

export const RemoteMcpServer = z
  .object({
    url: z.url({ protocol: /^https?$/ }),
    headers: z.record(z.string().regex(/^[A-Za-z0-9-]+$/), z.string().max(8_000)).default({}),
    tools: z.array(z.string().min(1).max(128)).max(200).optional(),
  })
  .strict();
export type RemoteMcpServer = z.infer<typeof RemoteMcpServer>;

export const McpOperatorConfig = z
  .object({
    stdio: z
      .object({
        allow: z.boolean().default(false),
        commands: z.array(z.string().min(1).max(200)).max(100).default([]),
      })
      .strict()
      .default({ allow: false, commands: [] }),
    remote: z.record(serverName, RemoteMcpServer).default({}),
    limits: z
      .object({
        maxServers: z.number().int().min(0).max(16).default(4),
        maxToolsPerServer: z.number().int().min(1).max(200).default(32),
        maxResultChars: z.number().int().min(500).max(100_000).default(12_000),
        callTimeoutMs: z.number().int().min(1_000).max(600_000).default(60_000),
        startTimeoutMs: z.number().int().min(1_000).max(120_000).default(20_000),
      })
      .strict()
      .default({
        maxServers: 4,
        maxToolsPerServer: 32,
        maxResultChars: 12_000,
        callTimeoutMs: 60_000,
        startTimeoutMs: 20_000,
      }),
  })
  .strict();
export type McpOperatorConfig = z.infer<typeof McpOperatorConfig>;

/** No file: no MCP server may run. */
export const NO_MCP: McpOperatorConfig = McpOperatorConfig.parse({});

export function parseMcpOperatorConfig(text: string, source = 'MCP_SERVERS_FILE'): McpOperatorConfig {
  return parseOperatorFile(McpOperatorConfig, text, source, {});
}

export async function loadMcpOperatorConfig(path: string | undefined): Promise<McpOperatorConfig> {
  if (!path) return NO_MCP;
  return parseMcpOperatorConfig(
    await readOperatorFile('MCP_SERVERS_FILE', path),
    `MCP_SERVERS_FILE (${path})`,
  );
}

/** A server a repository asks for (the shape of `mcp.servers` items in the repo config). */
export const RepoMcpServer = z.union([
  z
    .object({
      name: serverName,
      command: z.string().min(1).max(500),
      args: z.array(z.string().max(1_000)).max(50).default([]),
    })
    .strict(),
  z.object({ name: serverName, remote: z.string().min(1).max(64) }).strict(),
]);
export type RepoMcpServer = z.infer<typeof RepoMcpServer>;

export type McpServerPlan =
  | { name: string; transport: 'sandbox-stdio'; command: string; args: string[] }
  | { name: string; transport: 'remote'; remote: RemoteMcpServer };

export interface McpRefusal {
  name: string;
  reason: string;
}

function basename(cmd: string): string {
  return cmd.slice(cmd.lastIndexOf('/') + 1);
}

/**
 * Which of the repository's servers may run, by the operator's caps: stdio servers only if
 * the operator allows them (and their command), remote ones only by a name the operator
 * defined (the repo never supplies a URL or a credential), at most `maxServers`, names unique.
 */
export function planMcpServers(
  operator: McpOperatorConfig,
  requested: unknown[],
): { servers: McpServerPlan[]; refused: McpRefusal[] } {
  const servers: McpServerPlan[] = [];
  const refused: McpRefusal[] = [];
  const seen = new Set<string>();
  for (const raw of requested) {
    const parsed = RepoMcpServer.safeParse(raw);
    const name = (raw as { name?: unknown })?.name;
    const label = typeof name === 'string' ? name.slice(0, 40) : '(unnamed)';
    if (!parsed.success) {
      refused.push({ name: label, reason: 'invalid server entry' });
      continue;
    }
    const s = parsed.data;
    if (seen.has(s.name)) {
      refused.push({ name: s.name, reason: 'duplicate name' });
      continue;
    }
    seen.add(s.name);
    if (servers.length >= operator.limits.maxServers) {
      refused.push({ name: s.name, reason: `more than ${operator.limits.maxServers} servers` });
      continue;
    }
    if ('remote' in s) {
      const remote = operator.remote[s.remote];
      if (!remote)
        refused.push({ name: s.name, reason: `the operator defines no remote server "${s.remote}"` });
      else servers.push({ name: s.name, transport: 'remote', remote });
      continue;
    }
    if (!operator.stdio.allow) {
      refused.push({ name: s.name, reason: 'the operator does not allow stdio MCP servers' });
      continue;
    }
    const cmds = operator.stdio.commands;
    if (cmds.length > 0 && !cmds.includes(s.command) && !cmds.includes(basename(s.command))) {
      refused.push({
        name: s.name,
        reason: `command "${basename(s.command)}" is not among the operator's allowed commands`,
      });
      continue;
    }
    servers.push({ name: s.name, transport: 'sandbox-stdio', command: s.command, args: s.args });
  }
  return { servers, refused };
}
