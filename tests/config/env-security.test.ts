import { describe, expect, it } from 'vitest';
import { ConfigError, parseConfig } from '../../src/config/env.js';

/** Issue 14, items 1 and 2: the operator's opt-in ranges and mandatory protected paths. */
describe('security settings in the env', () => {
  it('defaults to no opted-in range and no extra protected path', () => {
    const config = parseConfig('cli', {});
    expect(config.EGRESS_ALLOW_PRIVATE_RANGES).toEqual([]);
    expect(config.PROTECTED_PATHS).toEqual([]);
  });

  it('reads comma-separated lists', () => {
    const config = parseConfig('cli', {
      EGRESS_ALLOW_PRIVATE_RANGES: '10.20.0.0/16, fd12::/16,127.0.0.2',
      PROTECTED_PATHS: 'Makefile, scripts/ci/**,',
    });
    expect(config.EGRESS_ALLOW_PRIVATE_RANGES).toEqual(['10.20.0.0/16', 'fd12::/16', '127.0.0.2']);
    expect(config.PROTECTED_PATHS).toEqual(['Makefile', 'scripts/ci/**']);
  });

  it('refuses a range that is not an address or CIDR at boot', () => {
    for (const bad of ['10.0.0.0/33', 'redis', '10.0.0.0/8,localhost']) {
      let error: unknown;
      try {
        parseConfig('cli', { EGRESS_ALLOW_PRIVATE_RANGES: bad });
      } catch (err) {
        error = err;
      }
      expect(error, bad).toBeInstanceOf(ConfigError);
      expect((error as ConfigError).problems.join('\n')).toContain('EGRESS_ALLOW_PRIVATE_RANGES');
    }
  });
});
