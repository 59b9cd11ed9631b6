import { describe, expect, it } from 'vitest';
import { getEffectiveRepoConfig } from '../../src/repo-config/effective-repo-config.js';
import { parseRepoConfig } from '../../src/repo-config/repo-config.js';
import { defaultCaps } from './operator-caps.js';

const caps = defaultCaps;

const PUBLIC = ['registry.npmjs.org', 'github.com', '*.github.com', '8.8.8.8', 'pypi.org:443'];
/** Each of these reached the worker's Redis, the host, the internal network or the credential endpoint. */
const INTERNAL = [
  '127.0.0.1:6379',
  'localhost',
  'localhost.',
  'api.localhost',
  'redis',
  'redis:6379',
  '10.0.0.5',
  '172.16.0.1',
  '192.168.1.1:80',
  '100.64.1.1',
  '169.254.169.254',
  '100.100.100.200',
  '168.63.129.16',
  '0.0.0.0',
  '224.0.0.1',
  '2130706433',
  '127.1',
  '0x7f.0.0.1',
  '0177.0.0.1',
  'metadata.google.internal',
  'db.internal',
  '*.internal',
  'printer.local',
  '127.0.0.1.nip.io',
  '10-0-0-1.sslip.io',
];

function allowlist(hosts: string[]): string {
  return `network:\n  setup: { mode: allowlist, hosts: [${hosts.map((h) => JSON.stringify(h)).join(', ')}] }\n`;
}

// Issue 14, item 1: an admin of any repository allowlisted `127.0.0.1:6379` for setup and
// reached the worker's Redis; the config accepted `localhost`, `redis` and private addresses.
describe('internal hosts in a repo allowlist', () => {
  it('removes every internal host with a problem naming it, and keeps the public ones', () => {
    const eff = getEffectiveRepoConfig(parseRepoConfig(allowlist([...PUBLIC, ...INTERNAL])), caps);
    expect(eff.network.setup).toEqual({ mode: 'allowlist', hosts: PUBLIC });
    for (const host of INTERNAL) {
      expect(
        eff.problems.some((p) => p.startsWith(`network.setup.hosts: ${host} is `)),
        host,
      ).toBe(true);
    }
    expect(eff.problems).toHaveLength(INTERNAL.length);
    expect(eff.problems).toContain(
      'network.setup.hosts: 127.0.0.1:6379 is a loopback address; sandboxes may not reach it unless the operator allows the range (EGRESS_ALLOW_PRIVATE_RANGES) (host removed)',
    );
  });

  it('checks the agent phase too', () => {
    const eff = getEffectiveRepoConfig(
      parseRepoConfig('network: { agent: { mode: allowlist, hosts: [redis, example.com] } }'),
      caps,
    );
    expect(eff.network.agent).toEqual({ mode: 'allowlist', hosts: ['example.com'] });
  });

  it("lets the operator's opted-in range through, and only that range; metadata stays refused", () => {
    const optIn = { ...caps, EGRESS_ALLOW_PRIVATE_RANGES: ['10.20.0.0/16', '169.254.0.0/16'] };
    const eff = getEffectiveRepoConfig(
      parseRepoConfig(
        allowlist(['10.20.1.2:8080', 'mirror.internal', '10.0.0.5', '169.254.169.254', 'localhost']),
      ),
      optIn,
    );
    // Names are left to the egress proxy, which judges the address they resolve to.
    expect(eff.network.setup).toEqual({ mode: 'allowlist', hosts: ['10.20.1.2:8080', 'mirror.internal'] });
    expect(eff.problems.map((p) => p.split(' is ')[0])).toEqual([
      'network.setup.hosts: 10.0.0.5',
      'network.setup.hosts: 169.254.169.254',
      'network.setup.hosts: localhost',
    ]);
    const loopback = getEffectiveRepoConfig(parseRepoConfig(allowlist(['localhost', '127.0.0.1'])), {
      ...caps,
      EGRESS_ALLOW_PRIVATE_RANGES: ['127.0.0.0/8'],
    });
    expect(loopback.network.setup).toEqual({ mode: 'allowlist', hosts: ['localhost', '127.0.0.1'] });
  });
});
