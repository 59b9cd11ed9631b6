import { existsSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { DockerSandbox } from '../../worker/sandbox/docker-sandbox-provider.js';
import { makeWorkspace, removeContainersOf, removeDir, SANDBOX_IMAGE, testProvider } from './helpers.js';

const MiB = 1024 * 1024;

describe('DockerSandbox hardening, checked from inside a real container', () => {
  const { provider, workerHostId, docker } = testProvider();
  const secret = `ghs_${'S3cr3t'.repeat(7)}`;
  let workspace: string;
  let sandbox: DockerSandbox;

  beforeAll(async () => {
    // A token in the worker's own environment must never reach the sandbox.
    process.env.PW_TEST_WORKER_TOKEN = secret;
    workspace = await makeWorkspace();
    sandbox = await provider.create(
      {
        image: SANDBOX_IMAGE,
        cpus: 0.5,
        memoryBytes: 256 * MiB,
        pidsLimit: 100,
        tmpBytes: 16 * MiB,
        labels: { 'dev.pullwright.job': 'hardening' },
      },
      workspace,
    );
  });

  afterAll(async () => {
    delete process.env.PW_TEST_WORKER_TOKEN;
    await sandbox?.dispose();
    await removeContainersOf(docker, workerHostId);
    await removeDir(workspace);
  });

  it('runs as uid 1000 with no capabilities and no-new-privileges', async () => {
    const r = await sandbox.exec({
      cmd: 'id -u; id -g; grep -E "^(CapInh|CapPrm|CapEff|CapBnd|CapAmb|NoNewPrivs):" /proc/self/status',
    });
    expect(r.exitCode).toBe(0);
    const lines = r.stdout.trim().split('\n');
    expect(lines[0]).toBe('1000');
    expect(lines[1]).toBe('1000');
    for (const cap of ['CapInh', 'CapPrm', 'CapEff', 'CapBnd', 'CapAmb']) {
      expect(r.stdout).toMatch(new RegExp(`${cap}:\\s+0000000000000000`));
    }
    expect(r.stdout).toMatch(/NoNewPrivs:\s+1/);
    // A setuid binary cannot raise privileges either.
    const su = await sandbox.exec({ cmd: 'su -c id root </dev/null' });
    expect(su.exitCode).not.toBe(0);
  });

  it('has a read-only root filesystem with writable workspace, tmp and home', async () => {
    const ro = await sandbox.exec({ cmd: 'touch /usr/evil || touch /etc/evil || exit 0; exit 9' });
    expect(ro.exitCode).toBe(0);
    const rootWrite = await sandbox.exec({ cmd: ['touch', '/evil'] });
    expect(rootWrite.exitCode).not.toBe(0);
    expect(rootWrite.stderr).toMatch(/Read-only file system/);
    const rw = await sandbox.exec({ cmd: 'touch /workspace/ok /tmp/ok "$HOME/ok" && echo yes' });
    expect(rw.stdout).toBe('yes\n');
    expect(existsSync(join(workspace, 'ok'))).toBe(true);
  });

  it('caps /tmp at the policy size', async () => {
    const r = await sandbox.exec({
      cmd: 'dd if=/dev/zero of=/tmp/fill bs=1M count=64 2>&1; du -sm /tmp | cut -f1',
    });
    expect(r.stdout).toMatch(/No space left on device/);
    const used = Number(r.stdout.trim().split('\n').pop());
    expect(used).toBeLessThanOrEqual(16);
    await sandbox.exec({ cmd: 'rm -f /tmp/fill' });
  });

  it('applies memory (no swap), CPU and pids limits', async () => {
    const r = await sandbox.exec({
      cmd: [
        'cd /sys/fs/cgroup',
        'if [ -f memory.max ]; then cat memory.max memory.swap.max cpu.max pids.max;',
        'else cat memory/memory.limit_in_bytes memory/memory.memsw.limit_in_bytes 2>/dev/null || cat memory/memory.limit_in_bytes; echo "$(cat cpu/cpu.cfs_quota_us) $(cat cpu/cpu.cfs_period_us)"; cat pids/pids.max; fi',
      ].join('\n'),
    });
    expect(r.exitCode).toBe(0);
    const out = r.stdout;
    expect(out).toContain(String(256 * MiB));
    expect(out).toMatch(/\b50000 100000\b/);
    expect(out).toMatch(/^100$/m);
  });

  it('has no network at all in mode none: not the host, not the metadata service, not the internet', async () => {
    const ifaces = await sandbox.exec({ cmd: "tail -n +3 /proc/net/dev | cut -d: -f1 | tr -d ' '" });
    expect(ifaces.stdout.trim()).toBe('lo');
    const probes = await sandbox.exec({
      cmd: [
        'for target in "169.254.169.254 80" "172.17.0.1 80" "1.1.1.1 443"; do',
        '  set -- $target',
        '  if timeout 3 bash -c "exec 3<>/dev/tcp/$1/$2" 2>/dev/null; then echo "open $1/$2"; else echo "closed $1/$2"; fi',
        'done',
        'curl -sS -m 3 http://169.254.169.254/latest/meta-data/ >/dev/null 2>&1 && echo curl-open || echo curl-closed',
      ].join('\n'),
    });
    expect(probes.stdout).toBe(
      'closed 169.254.169.254/80\nclosed 172.17.0.1/80\nclosed 1.1.1.1/443\ncurl-closed\n',
    );
  });

  it('cannot see the Docker socket or any worker secret', async () => {
    const r = await sandbox.exec({
      cmd: 'ls -la /var/run/docker.sock /run/docker.sock 2>&1; env; cat /proc/1/environ | tr "\\0" "\\n"; grep -c docker.sock /proc/self/mountinfo',
    });
    expect(r.stdout).toMatch(/No such file or directory/);
    expect(r.stdout).not.toMatch(/docker\.sock\s*$/m);
    expect(r.stdout).not.toContain(secret);
    expect(r.stdout).not.toContain('PW_TEST_WORKER_TOKEN');
    expect(r.stdout).not.toMatch(/DOCKER_HOST/);
    expect(r.stdout.trim().split('\n').pop()).toBe('0');
  });

  it('kills a command past its timeout with its whole process tree', async () => {
    const r = await sandbox.exec({
      cmd: [
        '(sleep 3; touch /workspace/late-child) &',
        "setsid bash -c 'sleep 3; touch /workspace/late-daemon' &",
        "nohup env -u PW_EXEC_ID bash -c 'sleep 3; touch /workspace/late-noenv' >/dev/null 2>&1 &",
        'sleep 60',
      ].join('\n'),
      timeoutMs: 1_000,
    });
    expect(r.timedOut).toBe(true);
    expect(r.exitCode).toBeNull();
    await new Promise((res) => setTimeout(res, 4_500));
    expect(existsSync(join(workspace, 'late-child'))).toBe(false);
    expect(existsSync(join(workspace, 'late-daemon'))).toBe(false);
    expect(existsSync(join(workspace, 'late-noenv'))).toBe(false);
    const ps = await sandbox.exec({ cmd: 'ps -eo args | grep -c "[s]leep 3"' });
    expect(ps.stdout.trim()).toBe('0');
  });

  it('stops a command within seconds when the job is cancelled', async () => {
    const controller = new AbortController();
    const started = Date.now();
    setTimeout(() => controller.abort(), 500);
    await expect(sandbox.exec({ cmd: 'sleep 120', signal: controller.signal })).rejects.toMatchObject({
      code: 'cancelled',
    });
    expect(Date.now() - started).toBeLessThan(10_000);
    const ps = await sandbox.exec({ cmd: 'ps -eo args | grep -c "[s]leep 120"' });
    expect(ps.stdout.trim()).toBe('0');
  });

  it('reports a memory hog as oomKilled', async () => {
    const r = await sandbox.exec({
      cmd: ['python3', '-c', 'import time\nblocks=[]\nwhile True: blocks.append(bytearray(32*1024*1024))'],
      timeoutMs: 60_000,
    });
    expect(r.oomKilled).toBe(true);
    expect(r.exitCode).toBeNull();
    expect(r.timedOut).toBe(false);
    const after = await sandbox.exec({ cmd: ['echo', 'alive'] });
    expect(after.stdout).toBe('alive\n');
  });

  it('does not report a plain SIGKILL as oomKilled', async () => {
    const r = await sandbox.exec({ cmd: 'kill -9 $$' });
    expect(r.exitCode).toBe(137);
    expect(r.oomKilled).toBe(false);
  });

  it('contains a fork bomb with the pids limit and stays usable', async () => {
    const r = await sandbox.exec({ cmd: 'bomb() { bomb | bomb & }; bomb; sleep 30', timeoutMs: 4_000 });
    expect(r.timedOut).toBe(true);
    const after = await sandbox.exec({ cmd: 'echo alive; ps -e --no-headers | wc -l', timeoutMs: 30_000 });
    expect(after.stdout.split('\n')[0]).toBe('alive');
    expect(Number(after.stdout.split('\n')[1])).toBeLessThan(20);
  });

  it('caps a 10 s flood of output without growing the worker memory', async () => {
    global.gc?.();
    const before = process.memoryUsage().rss;
    const r = await sandbox.exec({ cmd: 'timeout 10 yes; true', timeoutMs: 60_000 });
    const grown = process.memoryUsage().rss - before;
    expect(r.exitCode).toBe(0);
    expect(r.stdoutTruncated).toBe(true);
    expect(r.stdout.length).toBe(1024 * 1024);
    expect(grown).toBeLessThan(8 * MiB);
  }, 90_000);
});
