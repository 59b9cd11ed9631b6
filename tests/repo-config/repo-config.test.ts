import { describe, expect, it } from 'vitest';
import { matchesAnyGlob } from '../../src/domain/path-glob.js';
import {
  BUILTIN_PROTECTED_PATHS,
  getEffectiveRepoConfig,
} from '../../src/repo-config/effective-repo-config.js';
import { defaultRepoConfig, parseRepoConfig } from '../../src/repo-config/repo-config.js';
import { defaultCaps } from './operator-caps.js';

const caps = defaultCaps;

describe('parseRepoConfig', () => {
  it('gives the documented defaults for a missing or empty file', () => {
    for (const text of [null, '', '   \n']) {
      const { config, problems } = parseRepoConfig(text);
      expect(problems).toEqual([]);
      expect(config).toEqual(defaultRepoConfig());
      // The repo's own list is empty by default; the workflow protection lives in the
      // built-in list every effective config carries (issue 14, item 2).
      expect(config.protectedPaths).toEqual([]);
      const eff = getEffectiveRepoConfig({ config, problems }, caps);
      expect(matchesAnyGlob('.github/workflows/ci.yml', eff.protectedPaths)).not.toBeNull();
      expect(config.pr).toEqual({ draft: false, labels: [], branchPrefix: 'pullwright/' });
      expect(config.network).toEqual({ setup: { mode: 'none' }, agent: { mode: 'none' } });
    }
  });

  it('reads a full valid file', () => {
    const { config, problems } = parseRepoConfig(`
trigger: "@bot"
setup: npm ci
verify: [npm test, npm run lint]
network:
  setup: { mode: allowlist, hosts: [registry.npmjs.org] }
  agent: none
limits: { turns: 20, costUsd: 1.5, wallMinutes: 10 }
pr: { draft: true, labels: [agent], branchPrefix: bot/ }
maintenance:
  - id: deps
    cron: "0 6 * * 1"
    timezone: Europe/Paris
    prompt: Update dependencies
    maxOpenPrs: 2
`);
    expect(problems).toEqual([]);
    expect(config.trigger).toBe('@bot');
    expect(config.setup).toBe('npm ci');
    expect(config.verify).toEqual(['npm test', 'npm run lint']);
    expect(config.network.setup).toEqual({ mode: 'allowlist', hosts: ['registry.npmjs.org'] });
    expect(config.network.agent).toEqual({ mode: 'none' });
    expect(config.limits).toEqual({ turns: 20, costUsd: 1.5, wallMinutes: 10 });
    expect(config.pr).toEqual({ draft: true, labels: ['agent'], branchPrefix: 'bot/' });
    expect(config.maintenance).toEqual([
      {
        id: 'deps',
        cron: '0 6 * * 1',
        timezone: 'Europe/Paris',
        prompt: 'Update dependencies',
        maxOpenPrs: 2,
        maxNewPrsPerHour: 1,
      },
    ]);
  });

  it('keeps good sections and lists every bad one', () => {
    const { config, problems } = parseRepoConfig(`
trigger: agent
verify: [npm test]
limits: { turns: -1 }
colour: blue
maintenance:
  - { id: ok, cron: "0 * * * *", prompt: hi }
  - { id: Bad Id, cron: "0 * * * *", prompt: hi }
  - { id: tz, cron: "0 * * * *", timezone: Mars/Olympus, prompt: hi }
  - { id: ok, cron: "5 * * * *", prompt: dup }
  - { id: cron, cron: "every day", prompt: hi }
`);
    expect(config.verify).toEqual(['npm test']);
    expect(config.trigger).toBeNull();
    expect(config.limits).toEqual({});
    expect(config.maintenance.map((t) => t.id)).toEqual(['ok']);
    expect(problems.some((p) => p.startsWith('trigger:'))).toBe(true);
    expect(problems.some((p) => p.startsWith('limits.turns:'))).toBe(true);
    expect(problems.some((p) => p.startsWith('colour: unknown'))).toBe(true);
    expect(problems.some((p) => p.startsWith('maintenance.1.id:'))).toBe(true);
    expect(problems.some((p) => p.startsWith('maintenance.2.timezone:'))).toBe(true);
    expect(problems.some((p) => p.startsWith('maintenance.3.id: duplicate'))).toBe(true);
    expect(problems.some((p) => p.startsWith('maintenance.4.cron:'))).toBe(true);
  });

  it('survives broken YAML and non-mapping documents', () => {
    for (const text of ['a: [1, 2', '- just\n- a list', '42', 'a: *nope']) {
      const { config, problems } = parseRepoConfig(text);
      expect(config).toEqual(defaultRepoConfig());
      expect(problems.length).toBeGreaterThan(0);
    }
  });

  it('rejects branch prefixes that escape the ref namespace', () => {
    const { config, problems } = parseRepoConfig('pr: { branchPrefix: "../main" }');
    expect(config.pr.branchPrefix).toBe('pullwright/');
    expect(problems).toHaveLength(1);
  });
});

describe('getEffectiveRepoConfig', () => {
  it('caps privileges the operator does not grant', () => {
    const parsed = parseRepoConfig(`
network: { setup: open, agent: { mode: allowlist, hosts: [example.com] } }
allowWorkflowEdits: true
limits: { turns: 500, costUsd: 1, wallMinutes: 90 }
`);
    const eff = getEffectiveRepoConfig(parsed, caps);
    expect(eff.network.setup).toEqual({ mode: 'allowlist', hosts: [] });
    expect(eff.network.agent).toEqual({ mode: 'allowlist', hosts: ['example.com'] });
    expect(eff.allowProtectedPaths).toBe(false);
    expect(eff.limits).toEqual({ maxTurns: 100, maxCostUsd: 1, maxWallMs: 30 * 60_000 });
    expect(eff.problems).toHaveLength(4);

    const none = getEffectiveRepoConfig(parsed, { ...caps, MAX_NETWORK: 'none' });
    expect(none.network.agent).toEqual({ mode: 'none' });
  });

  it('passes wishes through when the operator allows them', () => {
    const parsed = parseRepoConfig('network: { setup: open }\nallowWorkflowEdits: true');
    const eff = getEffectiveRepoConfig(parsed, { ...caps, MAX_NETWORK: 'open', ALLOW_WORKFLOW_EDITS: true });
    expect(eff.network.setup).toEqual({ mode: 'open' });
    expect(eff.allowProtectedPaths).toBe(true);
    expect(eff.limits.maxTurns).toBe(100);
    expect(eff.problems).toEqual([]);
  });
});

// Issue 14, item 2: `protectedPaths: [infra/**]` used to REPLACE the default, silently
// letting an agent's branch rewrite `.github/workflows/*`, which CI runs with the secrets.
describe('protected paths', () => {
  const touches = (paths: string[], path: string) => matchesAnyGlob(path, paths) !== null;

  it("adds a repo's list to the built-in one instead of replacing it", () => {
    const eff = getEffectiveRepoConfig(parseRepoConfig('protectedPaths: [infra/**]'), caps);
    expect(touches(eff.protectedPaths, 'infra/main.tf')).toBe(true);
    expect(touches(eff.protectedPaths, '.github/workflows/ci.yml')).toBe(true);
    expect(eff.protectedPaths).toEqual(expect.arrayContaining([...BUILTIN_PROTECTED_PATHS, 'infra/**']));
  });

  it('protects all of .github/ and .gitmodules by default', () => {
    const eff = getEffectiveRepoConfig(parseRepoConfig(null), caps);
    for (const path of [
      '.github/workflows/ci.yml',
      '.github/actions/setup/action.yml',
      '.github/dependabot.yml',
      '.github/CODEOWNERS',
      '.gitmodules',
    ]) {
      expect(touches(eff.protectedPaths, path), path).toBe(true);
    }
    expect(touches(eff.protectedPaths, 'src/index.ts')).toBe(false);
  });

  it("keeps the operator's mandatory list whatever the repo says, even with workflow edits allowed", () => {
    const operator = { ...caps, PROTECTED_PATHS: ['Makefile', 'scripts/ci/**'] };
    const repo = parseRepoConfig('protectedPaths: []\nallowWorkflowEdits: true');
    const capped = getEffectiveRepoConfig(repo, operator);
    expect(touches(capped.protectedPaths, 'Makefile')).toBe(true);
    expect(touches(capped.protectedPaths, 'scripts/ci/run.sh')).toBe(true);
    expect(touches(capped.protectedPaths, '.github/workflows/ci.yml')).toBe(true);

    const allowed = getEffectiveRepoConfig(repo, { ...operator, ALLOW_WORKFLOW_EDITS: true });
    expect(allowed.allowProtectedPaths).toBe(true);
    expect(touches(allowed.protectedPaths, '.github/workflows/ci.yml')).toBe(false);
    expect(touches(allowed.protectedPaths, 'Makefile')).toBe(true);
    expect(touches(allowed.protectedPaths, 'scripts/ci/run.sh')).toBe(true);
  });
});
