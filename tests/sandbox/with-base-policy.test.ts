import { describe, expect, it } from 'vitest';
import type { Sandbox, SandboxPolicyInput, SandboxProvider } from '../../worker/sandbox/sandbox.js';
import { withBasePolicy } from '../../worker/sandbox/with-base-policy.js';

function recordingProvider(): SandboxProvider & { calls: Array<[SandboxPolicyInput, string]> } {
  const calls: Array<[SandboxPolicyInput, string]> = [];
  return {
    calls,
    create: async (policy, path) => {
      calls.push([policy, path]);
      return { id: 'fake' } as Sandbox;
    },
  };
}

describe('withBasePolicy', () => {
  it("fills the policy from the base, the caller's fields winning and labels merged", async () => {
    const inner = recordingProvider();
    const provider = withBasePolicy(inner, {
      image: 'base-image',
      memoryBytes: 1024,
      labels: { 'dev.pullwright.instance': 'i1' },
    });
    await provider.create(
      { image: 'job-image', network: { mode: 'none' }, labels: { 'dev.pullwright.job': 'j1' } },
      '/work/copy',
    );
    expect(inner.calls).toEqual([
      [
        {
          image: 'job-image',
          memoryBytes: 1024,
          network: { mode: 'none' },
          labels: { 'dev.pullwright.job': 'j1', 'dev.pullwright.instance': 'i1' },
        },
        '/work/copy',
      ],
    ]);
  });

  it("keeps the base's labels when the caller names the same one", async () => {
    const inner = recordingProvider();
    const provider = withBasePolicy(inner, { labels: { 'dev.pullwright.instance': 'i1' } });
    await provider.create({ image: 'img', labels: { 'dev.pullwright.instance': 'other' } }, '/w');
    expect(inner.calls[0]?.[0].labels).toEqual({ 'dev.pullwright.instance': 'i1' });
  });
});
