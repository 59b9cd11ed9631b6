import { describe, expect, it } from 'vitest';
import {
  AGENT_USER,
  containerSpec,
  EGRESS_MOUNT,
  SANDBOX_HOME,
  SANDBOX_WORKDIR,
  staysOnBridgeAtStart,
} from '../../worker/sandbox/container-spec.js';
import { SandboxPolicy } from '../../worker/sandbox/sandbox.js';
import {
  EGRESS_DIR_LABEL,
  HOST_LABEL,
  JOB_LABEL,
  RESERVED_LABELS,
  SANDBOX_LABEL,
  sandboxLabels,
  WORKSPACE_LABEL,
} from '../../worker/sandbox/sandbox-labels.js';

const MiB = 1024 * 1024;
const mounts = { workspace: '/srv/jobs/j1/work', egressDir: '/tmp/pullwright-egress/pw-sbx-1' };

function spec(input: Partial<SandboxPolicy> = {}, labels: Record<string, string> = { a: 'b' }) {
  return containerSpec(SandboxPolicy.parse({ image: 'pullwright-sandbox:latest', ...input }), mounts, labels);
}

// The hardening, as data: each field here is a choice the README's threat table explains.
describe('containerSpec (no Docker)', () => {
  it('runs as uid 1000 under tini, with only HOME and LANG in the environment (startup-file variables emptied)', () => {
    const s = spec();
    expect(s.User).toBe('1000:1000');
    expect(AGENT_USER).toBe('1000:1000');
    expect(s.Image).toBe('pullwright-sandbox:latest');
    expect(s.WorkingDir).toBe('/workspace');
    expect(SANDBOX_WORKDIR).toBe('/workspace');
    expect(s.Env).toEqual(['HOME=/home/agent', 'LANG=C.UTF-8', 'BASH_ENV=', 'ENV=']);
    expect(s.Entrypoint).toEqual(['/usr/bin/tini', '--']);
    expect(s.Cmd).toEqual(['sleep', 'infinity']);
    expect(s.Tty).toBe(false);
    expect(s.OpenStdin).toBe(false);
  });

  it('drops every capability, forbids new privileges and is never privileged', () => {
    const h = spec().HostConfig;
    expect(h?.CapDrop).toEqual(['ALL']);
    expect(h?.CapAdd).toBeUndefined();
    expect(h?.SecurityOpt).toEqual(['no-new-privileges:true']);
    expect(h?.Privileged).toBe(false);
    expect(h?.IpcMode).toBe('private');
    expect(h?.PidMode).toBeUndefined();
    expect(h?.UsernsMode).toBeUndefined();
    expect(h?.Devices).toBeUndefined();
  });

  it('has a read-only root with size-capped nosuid,nodev tmpfs for /tmp and HOME', () => {
    const h = spec({ tmpBytes: 64 * MiB }).HostConfig;
    expect(h?.ReadonlyRootfs).toBe(true);
    expect(h?.Tmpfs).toEqual({
      '/tmp': `rw,nosuid,nodev,size=${64 * MiB},mode=1777`,
      [SANDBOX_HOME]: `rw,nosuid,nodev,size=${64 * MiB},uid=1000,gid=1000,mode=0755`,
    });
  });

  it('mounts only the workspace (rw) and the egress folder (ro); no Docker socket, no binds', () => {
    const h = spec().HostConfig;
    expect(h?.Mounts).toEqual([
      { Type: 'bind', Source: mounts.workspace, Target: '/workspace', ReadOnly: false },
      { Type: 'bind', Source: mounts.egressDir, Target: EGRESS_MOUNT, ReadOnly: true },
    ]);
    expect(EGRESS_MOUNT).toBe('/run/pullwright');
    expect(h?.Binds).toBeUndefined();
    expect(h?.VolumesFrom).toBeUndefined();
    expect(JSON.stringify(spec())).not.toContain('docker.sock');
  });

  it('applies the memory (no swap), cpu, pids and open-files limits of the policy', () => {
    const h = spec({ memoryBytes: 512 * MiB, cpus: 1.5, pidsLimit: 64 }).HostConfig;
    expect(h?.Memory).toBe(512 * MiB);
    expect(h?.MemorySwap).toBe(512 * MiB);
    expect(h?.MemorySwappiness).toBe(0);
    expect(h?.NanoCpus).toBe(1_500_000_000);
    expect(h?.PidsLimit).toBe(64);
    expect(h?.Ulimits).toEqual([{ Name: 'nofile', Soft: 4096, Hard: 4096 }]);
  });

  it('uses the policy defaults when the policy names only the image', () => {
    const h = spec().HostConfig;
    expect(h?.Memory).toBe(2 * 1024 ** 3);
    expect(h?.NanoCpus).toBe(1e9);
    expect(h?.PidsLimit).toBe(512);
    expect(h?.Tmpfs?.['/tmp']).toContain(`size=${512 * MiB}`);
  });

  it('is created on the bridge (so open can connect later) and only open stays on it at start', () => {
    const s = spec();
    expect(s.HostConfig?.NetworkMode).toBe('bridge');
    expect(s.NetworkDisabled).toBe(false);
    expect(staysOnBridgeAtStart({ mode: 'none' })).toBe(false);
    expect(staysOnBridgeAtStart({ mode: 'allowlist', hosts: ['example.com'] })).toBe(false);
    expect(staysOnBridgeAtStart({ mode: 'open' })).toBe(true);
  });

  it('never restarts or removes itself: dispose and the reaper decide', () => {
    const h = spec().HostConfig;
    expect(h?.AutoRemove).toBe(false);
    expect(h?.RestartPolicy).toEqual({ Name: 'no' });
  });

  it('carries exactly the labels it is given (a copy)', () => {
    const labels = { [JOB_LABEL]: 'j1' };
    const s = spec({}, labels);
    expect(s.Labels).toEqual(labels);
    expect(s.Labels).not.toBe(labels);
  });
});

// Bug 6: a caller's host label was silently overwritten by the provider's.
describe('sandboxLabels', () => {
  const owned = { workerHostId: 'host-1', workspace: mounts.workspace, egressDir: mounts.egressDir };

  it("adds the provider's own labels to the caller's", () => {
    expect(sandboxLabels({ [JOB_LABEL]: 'j1', extra: 'x' }, owned)).toEqual({
      [JOB_LABEL]: 'j1',
      extra: 'x',
      [SANDBOX_LABEL]: '1',
      [HOST_LABEL]: 'host-1',
      [WORKSPACE_LABEL]: mounts.workspace,
      [EGRESS_DIR_LABEL]: mounts.egressDir,
    });
  });

  it.each(RESERVED_LABELS)('refuses a caller-set %s instead of overwriting it silently', (label) => {
    expect(() => sandboxLabels({ [label]: 'mine' }, owned)).toThrowError(
      expect.objectContaining({ code: 'input_invalid', retryable: false }),
    );
  });

  it('reserves the host label (the worker host id is a provider option, not a policy label)', () => {
    expect(RESERVED_LABELS).toContain(HOST_LABEL);
    expect(RESERVED_LABELS).not.toContain(JOB_LABEL);
  });
});
