import { describe, expect, it } from 'vitest';
import { getEffectiveRepoConfig } from '../../src/repo-config/effective-repo-config.js';
import { parseRepoConfig } from '../../src/repo-config/repo-config.js';
import { defaultCaps } from './operator-caps.js';

const effective = (yaml: string, caps = {}) =>
  getEffectiveRepoConfig(parseRepoConfig(yaml), { ...defaultCaps, ...caps });

describe('settings of issues 15-18', () => {
  it('defaults: repair twice, update on conflicts, resolve threads, self-review, a check run, a dashboard', () => {
    const config = effective('');
    expect(config.ci).toEqual({ repair: true, maxRepairs: 2 });
    expect(config.updateBranch).toBe('conflicts');
    expect(config.review).toEqual({ resolveThreads: true, selfReview: true });
    expect(config.checkRun).toBe(true);
    expect(config.dashboard).toBe(true);
    expect(config.setupCacheKey).toEqual([]);
    expect(config.permissions.shell).toEqual({ allow: [], deny: [] });
    expect(config.mcp.servers).toEqual([]);
    expect(config.monthlyBudgetUsd).toBeNull();
    expect(config.problems).toEqual([]);
  });

  it('caps ci.maxRepairs at the operator limit and says so', () => {
    const config = effective('ci: { maxRepairs: 9 }', { MAX_CI_REPAIRS: 3 });
    expect(config.ci.maxRepairs).toBe(3);
    expect(config.problems).toEqual(["ci.maxRepairs: 9 is above the operator's limit 3 (capped)"]);
    expect(effective('ci: { maxRepairs: 0 }').ci.maxRepairs).toBe(0);
  });

  it('lets a repo lower the monthly budget, never raise it or invent one', () => {
    expect(effective('limits: { monthlyCostUsd: 5 }', { MAX_MONTHLY_COST_USD: 20 }).monthlyBudgetUsd).toBe(5);
    const raised = effective('limits: { monthlyCostUsd: 50 }', { MAX_MONTHLY_COST_USD: 20 });
    expect(raised.monthlyBudgetUsd).toBe(20);
    expect(raised.problems).toEqual(["limits.monthlyCostUsd: 50 is above the operator's limit 20 (capped)"]);
    expect(effective('', { MAX_MONTHLY_COST_USD: 20 }).monthlyBudgetUsd).toBe(20);
    // Without an operator budget a repo may still set its own ceiling.
    expect(effective('limits: { monthlyCostUsd: 3 }').monthlyBudgetUsd).toBe(3);
  });

  it('parses permissions and MCP servers, and falls back to defaults on a bad section', () => {
    const config = effective(
      [
        'permissions:',
        '  shell: { deny: ["rm -rf *", "curl"] }',
        '  write: { allow: ["src/**"] }',
        'mcp:',
        '  servers:',
        '    - { name: docs, command: node, args: [mcp.js] }',
        '    - { name: tracker, remote: tracker }',
        'updateBranch: sometimes',
      ].join('\n'),
    );
    expect(config.permissions.shell.deny).toEqual(['rm -rf *', 'curl']);
    expect(config.permissions.write).toEqual({ allow: ['src/**'], deny: [] });
    expect(config.mcp.servers).toEqual([
      { name: 'docs', command: 'node', args: ['mcp.js'] },
      { name: 'tracker', remote: 'tracker' },
    ]);
    expect(config.updateBranch).toBe('conflicts');
    expect(config.problems.some((p) => p.startsWith('updateBranch:'))).toBe(true);
  });
});
