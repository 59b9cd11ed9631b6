import type { Sandbox, SandboxPolicyInput, SandboxProvider } from './sandbox.js';

/**
 * A provider that fills every policy from `base` first: what a runtime knows once
 * (image, limits, its instance and deployment labels) set here, and what a session
 * knows per container (network, job labels) given to `create`.
 *
 * Fields the caller gives win over `base`, except labels: those are merged and the
 * base's win, because they are the runtime's scope labels the reaper relies on to
 * tell live instances' containers from leftovers; a job must not be able to move
 * its container out of that scope.
 */
export function withBasePolicy(
  provider: SandboxProvider,
  base: Partial<SandboxPolicyInput>,
): SandboxProvider {
  return {
    ...(provider.imageId
      ? { imageId: (image: string) => (provider.imageId as (i: string) => Promise<string>)(image) }
      : {}),
    create(policy: SandboxPolicyInput, workspaceHostPath: string): Promise<Sandbox> {
      return provider.create(
        { ...base, ...policy, labels: { ...policy.labels, ...base.labels } },
        workspaceHostPath,
      );
    },
  };
}
