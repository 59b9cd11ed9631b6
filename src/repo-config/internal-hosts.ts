import { isIP } from 'node:net';
import type { EgressAddressPolicy } from '../domain/egress-address-policy.js';

/**
 * Refuses allowlist entries that point inside the worker's network, already when
 * the repo config is read (issue 14, item 1). Threat: an admin of any repository
 * where the app is installed allowlists `127.0.0.1:6379`, `localhost` or `redis`
 * for setup and reaches the worker's Redis, the host's services or the cloud's
 * credential endpoint. The egress proxy refuses such addresses after DNS anyway;
 * this says so plainly in the config comment instead of failing mid-run, and
 * catches the names DNS would only resolve inside the worker's network.
 */

/** Names that only ever mean the cloud's credential endpoint: refused even inside an opted-in range. */
const METADATA_NAMES = new Set([
  'metadata',
  'metadata.google.internal',
  'metadata.goog',
  'instance-data',
  'instance-data.ec2.internal',
]);

/** Suffixes no public DNS answers for: they resolve on the worker's network, if anywhere. */
const INTERNAL_SUFFIXES = ['internal', 'local', 'localdomain', 'home.arpa', 'lan', 'intranet', 'corp'];

const OPT_IN = 'unless the operator allows the range (EGRESS_ALLOW_PRIVATE_RANGES)';

function describeRefusal(refusal: string): string {
  const kind = refusal.replace(/-address$/, '').replace('-', ' ');
  if (kind === 'metadata') return 'a cloud metadata address (never reachable from a sandbox)';
  return `${kind === 'unspecified' ? 'an' : 'a'} ${kind} address; sandboxes may not reach it ${OPT_IN}`;
}

/** A dotted quad inside a name (`127.0.0.1.nip.io`, `10-0-0-1.sslip.io`): such services answer with it. */
function embeddedAddress(name: string): string | null {
  const m = /(?:^|[.-])(\d{1,3})[.-](\d{1,3})[.-](\d{1,3})[.-](\d{1,3})(?:[.-]|$)/.exec(name);
  if (!m) return null;
  const address = m.slice(1, 5).map(Number).join('.');
  return isIP(address) === 4 ? address : null;
}

/**
 * Why the allowlist entry `entry` (`host`, `host:port` or `*.domain`, already
 * syntax-checked) must not be allowed, or null. `anyRangeOptedIn`: the operator
 * opted some internal range in, so internal names are left to the proxy, which
 * judges the address they resolve to.
 */
export function findInternalHostProblem(
  entry: string,
  policy: EgressAddressPolicy,
  anyRangeOptedIn: boolean,
): string | null {
  const name = entry.replace(/:\d+$/, '').toLowerCase().replace(/\.+$/, '');
  const wildcard = name.startsWith('*.');
  const base = wildcard ? name.slice(2) : name;
  const labels = base.split('.');
  const last = labels[labels.length - 1] ?? '';

  // No real TLD is numeric: this is an address, in some notation.
  if (/^(?:\d+|0x[0-9a-f]*)$/.test(last)) {
    if (wildcard) return 'a wildcard cannot cover an address';
    if (isIP(base) !== 4) {
      // Resolvers read `127.1`, `2130706433` or `0x7f.0.0.1` as 127.0.0.1.
      return 'not a plain address: write an IPv4 address as four decimal numbers';
    }
    const refusal = policy.refusal(base);
    return refusal ? describeRefusal(refusal) : null;
  }
  if (METADATA_NAMES.has(base)) return describeRefusal('metadata-address');
  if (base === 'localhost' || base.endsWith('.localhost')) {
    return policy.refusal('127.0.0.1')
      ? `a name for the worker itself (loopback); sandboxes may not reach it ${OPT_IN}`
      : null;
  }
  const embedded = embeddedAddress(base);
  if (embedded) {
    const refusal = policy.refusal(embedded);
    if (refusal) return `a name that resolves to ${embedded}, ${describeRefusal(refusal)}`;
  }
  if (anyRangeOptedIn) return null;
  if (!wildcard && labels.length === 1) {
    return `a single-label name, which resolves only on the worker's own network (a service such as redis) ${OPT_IN}`;
  }
  const suffix = INTERNAL_SUFFIXES.find((s) => base === s || base.endsWith(`.${s}`));
  if (suffix) return `an internal name (.${suffix}), which resolves only on the worker's network, ${OPT_IN}`;
  return null;
}
