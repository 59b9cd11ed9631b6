import { describe, expect, it } from 'vitest';
import { getEffectiveRepoConfig, type OperatorCaps } from '../../src/repo-config/effective-repo-config.js';
import { defaultRepoConfig, parseRepoConfig } from '../../src/repo-config/repo-config.js';

const caps: OperatorCaps = {
  MAX_NETWORK: 'allowlist',
  ALLOW_WORKFLOW_EDITS: false,
  MAX_TURNS: 100,
  MAX_COST_USD: 5,
  MAX_WALL_MINUTES: 30,
};

describe('parseRepoConfig', () => {
  it('gives the documented defaults for a missing or empty file', () => {
    for (const text of [null, '', '   \n']) {
      const { config, problems } = parseRepoConfig(text);
      expect(problems).toEqual([]);
      expect(config).toEqual(defaultRepoConfig());
      expect(config.protectedPaths).toEqual(['.github/workflows/**']);
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
