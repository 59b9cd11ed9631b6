import { describe, expect, it } from 'vitest';
import {
  checkNetworkHost,
  checkShellCommand,
  checkToolName,
  checkWritePath,
  denialMessage,
  deniedPaths,
  hostOf,
} from '../../../worker/agent/permissions/check-permission.js';
import { parseShellCommand } from '../../../worker/agent/permissions/parse-shell-command.js';
import {
  OPEN_POLICY,
  PermissionRules,
  type PermissionRulesInput,
  parseToolPolicy,
  resolveToolPolicy,
  type ToolPolicy,
} from '../../../worker/agent/permissions/tool-policy.js';

function policy(operator: PermissionRulesInput, repo?: PermissionRulesInput): ToolPolicy {
  return resolveToolPolicy(PermissionRules.parse(operator), repo);
}
const names = (cmd: string) =>
  parseShellCommand(cmd).commands.map((c) => c.argv.map((w) => w.text).join(' '));

describe('parseShellCommand', () => {
  it('splits lists, pipelines, subshells and substitutions into simple commands', () => {
    expect(names('cd a && npm test || echo "fail; x" | tee log; (git status)')).toEqual([
      'cd a',
      'npm test',
      'echo fail; x',
      'tee log',
      'git status',
    ]);
    expect(names('echo $(git push origin) `rm -rf /`')).toEqual([
      'git push origin',
      'rm -rf /',
      'echo $(git push origin) `rm -rf /`',
    ]);
    expect(names('diff <(git show HEAD:a) b')).toContain('git show HEAD:a');
  });
  it('looks inside bash -c, eval, wrappers and find -exec', () => {
    expect(names("bash -lc 'git push --force'")).toContain('git push --force');
    expect(names('eval git push')).toContain('git push');
    expect(names('FOO=1 timeout -s KILL 5 env A=b nice -n 3 git push')).toContain('git push');
    expect(names('find . -name x -exec rm -f {} ;')).toContain('rm -f {}');
    expect(names('ls | xargs -n 1 git push')).toContain('git push');
  });
  it('skips keywords and assignments, keeps heredoc bodies out, marks what it cannot read', () => {
    expect(names('if true; then git push; fi; for f in a b; do echo $f; done')).toEqual([
      'true',
      'git push',
      'echo $f',
    ]);
    const doc = parseShellCommand("cat <<'EOF' > out.txt\ngit push\nEOF\necho done");
    expect(doc.commands.map((c) => c.argv[0]?.text)).toEqual(['cat', 'echo']);
    expect(doc.opaque).toEqual([]);
    expect(parseShellCommand('cat <<EOF\n$(git push)\nEOF').opaque).toHaveLength(1);
    expect(parseShellCommand('echo "unterminated').opaque).toHaveLength(1);
    expect(parseShellCommand('case $x in a) git push;; esac').opaque).toHaveLength(1);
    const dyn = parseShellCommand('$GIT push');
    expect(dyn.commands[0]?.argv[0]).toEqual({ text: '$GIT', literal: false });
    expect(parseShellCommand('echo hi > a.txt 2>&1').commands[0]?.redirects).toEqual([
      { op: '>', target: { text: 'a.txt', literal: true } },
    ]);
  });
});

describe('checkShellCommand', () => {
  const p = policy({ shell: { deny: ['git push', 'rm -rf', 'curl'] } });
  it.each([
    'git push',
    'git -c a=b push origin main',
    '/usr/bin/git push',
    'npm test && git push',
    'echo ok; (cd x && git push)',
    'echo $(git push)',
    "bash -c 'git push'",
    'sh -c "cd a; rm -r -f b"',
    'rm -fr /',
    'timeout 10 curl http://x',
    'ls | xargs rm -rf',
    'find . -exec rm -rf {} +',
    'eval "git push"',
    '$GIT push',
    'echo "$(cat <<EOF\n$(git push)\nEOF\n)"',
    'echo "unterminated git push',
    '\\git push',
    "g'i't push",
    '/usr/bin/env git push',
    "$'\\x67it' push",
    // biome-ignore lint/suspicious/noTemplateCurlyInString: a shell parameter expansion, not a template
    '${GIT:-git} push',
    'f() { git push; }; f',
    'echo $(( $(git push) ))',
    'true\ngit push',
  ])('denies %j', (cmd) => {
    const d = checkShellCommand(p, cmd);
    expect(d.allowed).toBe(false);
  });
  it.each([
    'git status',
    'echo "git push"',
    "echo 'rm -rf /'",
    'grep -r "curl" src',
    'cat push.txt',
    'rm -f a.txt',
    'cat <<"EOF"\ngit push\nEOF',
    'npm test 2>&1 | tail -n 50',
  ])('allows %j (matching the parsed command, not a substring)', (cmd) => {
    expect(checkShellCommand(p, cmd)).toEqual({ allowed: true });
  });
  it('is conservative where it cannot tell: an option value or a computed command name', () => {
    // Deny rules match later words in order, so an option value that spells the subcommand is refused too.
    expect(checkShellCommand(p, 'git log --grep push').allowed).toBe(false);
    // A computed command name could be any command a one-word rule denies ...
    expect(checkShellCommand(p, '$EDITOR file').allowed).toBe(false);
    // ... but with only multi-word rules its arguments decide.
    const q = policy({ shell: { deny: ['git push'] } });
    expect(checkShellCommand(q, '$EDITOR file').allowed).toBe(true);
    expect(checkShellCommand(q, '$GIT push origin').allowed).toBe(false);
  });
  it('allow lists match the argv prefix; wrappers are transparent, unparseable text is refused', () => {
    const a = policy({ shell: { allow: ['npm test', 'npm run *', 'git status', 'ls', 'timeout'] } });
    expect(checkShellCommand(a, 'npm test -- --watch=false').allowed).toBe(true);
    expect(checkShellCommand(a, 'npm run lint && git status').allowed).toBe(true);
    expect(checkShellCommand(a, 'timeout 60 npm test').allowed).toBe(true);
    expect(checkShellCommand(a, 'timeout 60 node x.js').allowed).toBe(false);
    expect(checkShellCommand(a, 'npm install').allowed).toBe(false);
    expect(checkShellCommand(a, 'npm test; node -e 1').allowed).toBe(false);
    expect(checkShellCommand(a, 'ls $(node -e 1)').allowed).toBe(false);
    expect(checkShellCommand(a, '$NPM test').allowed).toBe(false);
    expect(checkShellCommand(a, 'ls "').allowed).toBe(false);
  });
  it('the repo layer only narrows: a repo allow cannot lift an operator deny', () => {
    const both = policy({ shell: { deny: ['git push'] } }, { shell: { allow: ['git push', 'npm test'] } });
    expect(checkShellCommand(both, 'git push').allowed).toBe(false);
    expect(checkShellCommand(both, 'npm test').allowed).toBe(true);
    expect(checkShellCommand(both, 'make').allowed).toBe(false);
    const d = checkShellCommand(both, 'make');
    expect(d.allowed === false && d.source).toBe('repo');
  });
  it('checks redirect targets against write rules and URLs against network rules', () => {
    const w = policy({ write: { deny: ['.github/**'] }, network: { deny: ['*.evil.test'] } });
    expect(checkShellCommand(w, 'echo x > .github/workflows/ci.yml').allowed).toBe(false);
    expect(checkShellCommand(w, 'echo x > /work/.github/a', '/work').allowed).toBe(false);
    expect(checkShellCommand(w, 'echo x > /tmp/a && echo y > src/a').allowed).toBe(true);
    expect(checkShellCommand(w, 'curl -s https://api.evil.test/x').allowed).toBe(false);
    expect(checkShellCommand(w, 'git clone git@evil.test:o/r').allowed).toBe(false);
    expect(checkShellCommand(w, 'curl https://ok.test/').allowed).toBe(true);
  });
  it('the default policy denies nothing', () => {
    expect(checkShellCommand(OPEN_POLICY, 'rm -rf / ; git push --force').allowed).toBe(true);
    expect(checkWritePath(OPEN_POLICY, '.github/x').allowed).toBe(true);
  });
});

describe('paths, hosts, tools', () => {
  it('write globs, host patterns and tool names, with a clear denial message', () => {
    const p = policy({
      write: { allow: ['src/**', 'tests/**'] },
      tools: { deny: ['mcp__tracker__delete_*'] },
    });
    expect(checkWritePath(p, 'src/a/b.ts').allowed).toBe(true);
    expect(checkWritePath(p, './tests/x.ts').allowed).toBe(true);
    const d = checkWritePath(p, 'package.json');
    expect(d.allowed).toBe(false);
    if (!d.allowed)
      expect(denialMessage(d)).toMatch(
        /^Permission denied by the operator's tool policy: write to "package.json" matches no allow rule/,
      );
    expect(checkToolName(p, 'mcp__tracker__delete_issue').allowed).toBe(false);
    expect(checkToolName(p, 'mcp__tracker__get_issue').allowed).toBe(true);
    expect(deniedPaths(p, ['src/a', 'Makefile']).map((x) => x.path)).toEqual(['Makefile']);
    const n = policy({ network: { allow: ['*.npmjs.org', 'github.com'] } });
    expect(checkNetworkHost(n, 'registry.npmjs.org').allowed).toBe(true);
    expect(checkNetworkHost(n, 'evilnpmjs.org').allowed).toBe(false);
    expect(checkNetworkHost(n, 'GitHub.com').allowed).toBe(true);
    expect(hostOf('https://user:pw@Example.COM:8443/x')).toBe('example.com');
  });
  it('parses the operator file (YAML or JSON) strictly and ignores an invalid repo section', () => {
    expect(parseToolPolicy('shell:\n  deny: [git push]\n').shell.deny).toEqual(['git push']);
    expect(parseToolPolicy('{"write": {"allow": ["src/**"]}}').write.allow).toEqual(['src/**']);
    expect(() => parseToolPolicy('shell: {deny: 3}')).toThrow(/TOOL_POLICY_FILE is invalid: shell.deny/);
    expect(() => parseToolPolicy('shel: {}')).toThrow(/invalid/);
    const r = resolveToolPolicy(PermissionRules.parse({ shell: { deny: ['x'] } }), { shell: { deny: 5 } });
    expect(r.layers.map((l) => l.source)).toEqual(['operator']);
    expect(r.problems[0]).toMatch(/permissions.shell.deny/);
  });
});
