import { BlockList, isIP } from 'node:net';
import { PullwrightError } from '../errors.js';

/**
 * Which resolved addresses the egress proxy may dial. The proxy runs in the worker,
 * so it reaches everything the worker reaches; an allowlist entry such as
 * `127.0.0.1:6379`, `localhost` or a name whose DNS answer points inside must not
 * turn it into a bridge to the worker's Redis, the host's services, the internal
 * network or the cloud's credential endpoint (issue 14, item 1). The check runs on
 * the address actually dialled, after resolution, so DNS cannot route around it.
 */

/** Never reachable, even inside an opted-in range: instance credentials live there. */
export const METADATA_ADDRESSES: readonly string[] = [
  '169.254.169.254', // AWS, GCP, Azure IMDS, OpenStack, DigitalOcean, Oracle
  '100.100.100.200', // Alibaba Cloud
  'fd00:ec2::254', // AWS IMDS over IPv6
  '168.63.129.16', // Azure wire server
];

/** Ranges refused unless the operator opts one in: [network, prefix, reason]. */
const INTERNAL_RANGES: ReadonlyArray<readonly [string, number, string]> = [
  ['0.0.0.0', 8, 'unspecified'],
  ['10.0.0.0', 8, 'private'],
  ['100.64.0.0', 10, 'cgnat'],
  ['127.0.0.0', 8, 'loopback'],
  ['169.254.0.0', 16, 'link-local'],
  ['172.16.0.0', 12, 'private'],
  ['192.168.0.0', 16, 'private'],
  ['224.0.0.0', 4, 'multicast'],
  ['240.0.0.0', 4, 'reserved'],
  ['::', 128, 'unspecified'],
  ['::1', 128, 'loopback'],
  ['fc00::', 7, 'unique-local'],
  ['fe80::', 10, 'link-local'],
  ['fec0::', 10, 'site-local'],
  ['ff00::', 8, 'multicast'],
];

function family(address: string): 'ipv4' | 'ipv6' {
  return isIP(address) === 6 ? 'ipv6' : 'ipv4';
}

/**
 * The IPv4 address a NAT64 (64:ff9b::/96) address stands for, so `64:ff9b::7f00:1`
 * is judged as 127.0.0.1. (IPv4-mapped `::ffff:a.b.c.d` is matched by BlockList itself.)
 */
function embeddedIpv4(address: string): string | null {
  const m = /^64:ff9b::(?:([0-9a-f]{1,4}):([0-9a-f]{1,4})|(\d+\.\d+\.\d+\.\d+))$/i.exec(address);
  if (!m) return null;
  if (m[3]) return m[3];
  const hi = Number.parseInt(m[1] as string, 16);
  const lo = Number.parseInt(m[2] as string, 16);
  return [hi >> 8, hi & 255, lo >> 8, lo & 255].join('.');
}

/** Parses an operator's opt-in entries (`10.1.0.0/16`, `fd12::/16`, or a single address). */
export function parseEgressRanges(entries: readonly string[]): BlockList {
  const list = new BlockList();
  for (const entry of entries) {
    const [network = '', prefixText] = entry.trim().split('/');
    const kind = isIP(network);
    const max = kind === 4 ? 32 : 128;
    const prefix = prefixText === undefined ? max : Number(prefixText);
    if (kind === 0 || !Number.isInteger(prefix) || prefix < 0 || prefix > max)
      throw new PullwrightError(
        'config_invalid',
        `Invalid egress range: ${entry} (expected an address or CIDR).`,
        {
          retryable: false,
        },
      );
    list.addSubnet(network, prefix, kind === 4 ? 'ipv4' : 'ipv6');
  }
  return list;
}

export class EgressAddressPolicy {
  private readonly metadata = new BlockList();
  private readonly internal: Array<{ list: BlockList; reason: string }> = [];
  private readonly optedIn: BlockList;

  /** `allowedRanges`: internal ranges the operator deliberately lets sandboxes reach (a local mirror). */
  constructor(allowedRanges: readonly string[] = []) {
    for (const a of METADATA_ADDRESSES) this.metadata.addAddress(a, family(a));
    for (const [network, prefix, reason] of INTERNAL_RANGES) {
      const list = new BlockList();
      list.addSubnet(network, prefix, family(network));
      this.internal.push({ list, reason });
    }
    this.optedIn = parseEgressRanges(allowedRanges);
  }

  /** Why `address` (an IP literal) must not be dialled, or null when it may be. */
  refusal(address: string): string | null {
    const kind = isIP(address);
    if (kind === 0) return 'not-an-address';
    const v4 = kind === 6 ? embeddedIpv4(address) : null;
    if (v4 !== null) return this.refusal(v4);
    const fam = kind === 4 ? 'ipv4' : 'ipv6';
    if (this.metadata.check(address, fam)) return 'metadata-address';
    const hit = this.internal.find((r) => r.list.check(address, fam));
    if (!hit) return null;
    return this.optedIn.check(address, fam) ? null : `${hit.reason}-address`;
  }
}
