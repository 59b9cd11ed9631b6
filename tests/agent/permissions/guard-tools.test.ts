import { describe, expect, it } from 'vitest';
import { createSilentLogger } from '../../../src/logger.js';
import { checkShellCommand } from '../../../worker/agent/permissions/check-permission.js';
import { guardTools } from '../../../worker/agent/permissions/guard-tools.js';
import { narrowNetworkPolicy } from '../../../worker/agent/permissions/narrow-network-policy.js';
import { PermissionRules, resolveToolPolicy } from '../../../worker/agent/permissions/tool-policy.js';
import { READ_ONLY_SHELL_RULES } from '../../../worker/agent/subagents/read-only-tools.js';
import type { Tool, ToolContext } from '../../../worker/agent/tool.js';
import type { HarnessEvent } from '../../../worker/agent/tools/harness-events.js';
import type { Sandbox } from '../../../worker/sandbox/sandbox.js';

const sandbox = { id: 'fake', workdir: '/workspace' } as Sandbox;
const ctx: ToolContext = { sandbox, signal: new AbortController().signal, log: createSilentLogger() };

function fakeTool(name: string, ran: unknown[]): Tool {
  return {
    name,
    description: 'fake',
    input: { safeParse: (x: unknown) => ({ success: true, data: x }) } as never,
    inputJsonSchema: { type: 'object' },
    concurrent: name === 'delegate',
    async run(input) {
      ran.push(input);
      return { content: 'ran', isError: false };
    },
  };
}

describe('guardTools', () => {
  const policy = resolveToolPolicy(
    PermissionRules.parse({ shell: { deny: ['git push'] }, tools: { deny: ['mcp__x__*'] } }),
    { write: { deny: ['.github/**', 'package.json'] } },
  );

  it('refuses before the tool runs, tells the model why, records the denial; allowed calls run unchanged', async () => {
    const ran: unknown[] = [];
    const events: HarnessEvent[] = [];
    const [bash, edit, mcp, delegate] = guardTools(
      [
        fakeTool('bash', ran),
        fakeTool('str_replace_based_edit_tool', ran),
        fakeTool('mcp__x__y', ran),
        fakeTool('delegate', ran),
      ],
      policy,
      (e) => events.push(e),
    ) as Tool[];
    const denied = await bash?.run({ command: 'cd sub && git push -f' }, ctx);
    expect(denied).toEqual({
      isError: true,
      content: expect.stringMatching(
        /^Permission denied by the operator's tool policy: command "git push -f" matches the deny rule "git push"/,
      ),
    });
    expect(await bash?.run({ command: 'git status' }, ctx)).toEqual({ content: 'ran', isError: false });
    const write = await edit?.run(
      { command: 'create', path: '/workspace/.github/workflows/x.yml', file_text: 'x' },
      ctx,
    );
    expect(write?.content).toMatch(
      /^Permission denied by the repository's permissions: write to ".github\/workflows\/x.yml"/,
    );
    expect(
      (await edit?.run({ command: 'str_replace', path: './package.json', old_str: 'a', new_str: 'b' }, ctx))
        ?.isError,
    ).toBe(true);
    expect((await edit?.run({ command: 'view', path: 'package.json' }, ctx))?.isError).toBe(false);
    expect((await edit?.run({ command: 'create', path: 'src/a.ts', file_text: 'x' }, ctx))?.isError).toBe(
      false,
    );
    expect((await mcp?.run({}, ctx))?.isError).toBe(true);
    expect(delegate?.concurrent).toBe(true);
    expect(ran).toHaveLength(3);
    expect(events.map((e) => e.type === 'permission-denied' && [e.tool, e.kind, e.source, e.rule])).toEqual([
      ['bash', 'shell', 'operator', 'git push'],
      ['str_replace_based_edit_tool', 'write', 'repo', '.github/**'],
      ['str_replace_based_edit_tool', 'write', 'repo', 'package.json'],
      ['mcp__x__y', 'tools', 'operator', 'mcp__x__*'],
    ]);
  });

  it('the default policy wraps nothing', () => {
    const tools = [fakeTool('bash', [])];
    expect(guardTools(tools, resolveToolPolicy(PermissionRules.parse({}), undefined))).toBe(tools);
  });
});

describe('the subagent read-only shell', () => {
  const ro = { layers: [{ source: 'operator' as const, rules: READ_ONLY_SHELL_RULES }], problems: [] };
  it.each([
    'cat src/a.js | head -n 20',
    'grep -rn foo src',
    'git log --oneline -5',
    "sed -n '1,20p' a",
    'find . -name "*.ts"',
    'wc -l a b > /tmp/out',
  ])('allows %j', (cmd) => expect(checkShellCommand(ro, cmd, '/workspace').allowed).toBe(true));
  it.each([
    'rm a',
    'echo x > a.js',
    'sed -i s/a/b/ f',
    'find . -delete',
    'find . -exec rm {} ;',
    'git checkout .',
    'npm install',
    'node -e 1',
    'cat a | tee b',
    'git branch -D x',
    'bash -c "touch x"',
  ])('refuses %j', (cmd) => expect(checkShellCommand(ro, cmd, '/workspace').allowed).toBe(false));
});

describe('narrowNetworkPolicy', () => {
  const p = (rules: object) => resolveToolPolicy(PermissionRules.parse({ network: rules }), undefined);
  it('an allowlist loses denied hosts; open becomes the allow list; none stays none', () => {
    expect(
      narrowNetworkPolicy(
        { mode: 'allowlist', hosts: ['registry.npmjs.org', 'evil.test'] },
        p({ deny: ['evil.test'] }),
      ),
    ).toEqual({
      mode: 'allowlist',
      hosts: ['registry.npmjs.org'],
    });
    expect(narrowNetworkPolicy({ mode: 'open' }, p({ allow: ['github.com', '*.npmjs.org'] }))).toEqual({
      mode: 'allowlist',
      hosts: ['github.com'],
    });
    expect(narrowNetworkPolicy({ mode: 'none' }, p({ allow: ['github.com'] }))).toEqual({ mode: 'none' });
    expect(narrowNetworkPolicy({ mode: 'open' }, p({}))).toEqual({ mode: 'open' });
  });
});
