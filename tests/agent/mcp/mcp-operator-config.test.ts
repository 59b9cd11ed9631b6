import { describe, expect, it } from 'vitest';
import {
  McpOperatorConfig,
  NO_MCP,
  parseMcpOperatorConfig,
  planMcpServers,
} from '../../../worker/agent/mcp/mcp-operator-config.js';
import { mcpToolName } from '../../../worker/agent/mcp/mcp-tools.js';

describe('MCP operator caps', () => {
  it('without MCP_SERVERS_FILE no server runs', () => {
    const plan = planMcpServers(NO_MCP, [
      { name: 'docs', command: 'node', args: ['x.js'] },
      { name: 'tracker', remote: 'tracker' },
    ]);
    expect(plan.servers).toEqual([]);
    expect(plan.refused.map((r) => r.reason)).toEqual([
      'the operator does not allow stdio MCP servers',
      'the operator defines no remote server "tracker"',
    ]);
  });
  it('a repo names remote servers only by the operator-defined name: never a URL or credential of its own', () => {
    const op = McpOperatorConfig.parse({
      stdio: { allow: true, commands: ['node'] },
      remote: { tracker: { url: 'https://t.example/mcp', headers: { Authorization: 'Bearer s' } } },
      limits: { maxServers: 2 },
    });
    const plan = planMcpServers(op, [
      { name: 'a', command: '/usr/bin/node', args: [] },
      { name: 'b', command: 'python3', args: [] },
      { name: 'c', remote: 'tracker' },
      { name: 'c', remote: 'tracker' },
      { name: 'd', remote: 'https://evil.example/mcp' },
      { name: 'e', remote: 'tracker', url: 'https://evil.example' },
      { name: 'f', command: 'node' },
    ]);
    expect(plan.servers.map((s) => [s.name, s.transport])).toEqual([
      ['a', 'sandbox-stdio'],
      ['c', 'remote'],
    ]);
    expect(plan.refused).toEqual([
      { name: 'b', reason: 'command "python3" is not among the operator\'s allowed commands' },
      { name: 'c', reason: 'duplicate name' },
      { name: 'd', reason: 'more than 2 servers' },
      { name: 'e', reason: 'invalid server entry' },
      { name: 'f', reason: 'more than 2 servers' },
    ]);
  });
  it('parses the file strictly and never echoes its values (they hold credentials)', () => {
    const text = 'remote:\n  t:\n    url: ftp://x\n    headers: { Authorization: "Bearer hunter2" }\n';
    expect(() => parseMcpOperatorConfig(text)).toThrow(/MCP_SERVERS_FILE is invalid: remote.t.url/);
    try {
      parseMcpOperatorConfig(text);
    } catch (err) {
      expect((err as Error).message).not.toContain('hunter2');
    }
    expect(parseMcpOperatorConfig('{"stdio": {"allow": true}}').stdio.allow).toBe(true);
    expect(() => parseMcpOperatorConfig('stdio: {allow: true}\nextra: 1')).toThrow(/extra|Unrecognized/);
  });
  it('prefixes tool names within the API limits', () => {
    expect(mcpToolName('docs', 'look.up')).toBe('mcp__docs__look_up');
    expect(mcpToolName('docs', 'x'.repeat(100))).toHaveLength(64);
  });
});
