import { describe, expect, it } from 'vitest';
import { getEffectiveRepoConfig } from '../../src/repo-config/effective-repo-config.js';
import { parseRepoConfig } from '../../src/repo-config/repo-config.js';
import { defaultCaps } from './operator-caps.js';

describe('delivery setting', () => {
  it('defaults to branch delivery', () => {
    expect(getEffectiveRepoConfig(parseRepoConfig(null), defaultCaps).delivery).toBe('branch');
  });

  it('lets a repository ask for fork delivery', () => {
    const parsed = parseRepoConfig('delivery: fork\n');
    expect(parsed.problems).toEqual([]);
    expect(getEffectiveRepoConfig(parsed, defaultCaps).delivery).toBe('fork');
  });

  it('refuses an unknown value with a problem and keeps branch delivery', () => {
    const parsed = parseRepoConfig('delivery: somewhere\n');
    expect(parsed.problems.join('\n')).toMatch(/delivery/);
    expect(getEffectiveRepoConfig(parsed, defaultCaps).delivery).toBe('branch');
  });
});
