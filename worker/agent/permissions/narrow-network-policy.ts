import type { NetworkPolicy } from '../../sandbox/sandbox.js';
import { checkNetworkHost } from './check-permission.js';
import type { ToolPolicy } from './tool-policy.js';

/**
 * Applies the policy's network rules to a sandbox network policy, so the container's
 * egress (the real enforcement) agrees with what the tool policy says: an allowlist loses
 * the hosts a layer denies or does not allow; `open` becomes an allowlist when a layer
 * has an allow list of plain hosts (wildcards cannot be listed, so they stay refused by
 * the per-call check only). `none` stays `none`: rules never widen the network.
 */
export function narrowNetworkPolicy(network: NetworkPolicy, policy: ToolPolicy): NetworkPolicy {
  if (
    network.mode === 'none' ||
    policy.layers.every((l) => l.rules.network.allow.length + l.rules.network.deny.length === 0)
  )
    return network;
  if (network.mode === 'allowlist')
    return { mode: 'allowlist', hosts: network.hosts.filter((h) => checkNetworkHost(policy, h).allowed) };
  const withAllow = policy.layers.filter((l) => l.rules.network.allow.length > 0);
  if (withAllow.length === 0) return network; // open minus a deny list: enforced per call, the proxy cannot subtract
  const candidates = new Set(withAllow.flatMap((l) => l.rules.network.allow).filter((h) => !h.includes('*')));
  return { mode: 'allowlist', hosts: [...candidates].filter((h) => checkNetworkHost(policy, h).allowed) };
}
