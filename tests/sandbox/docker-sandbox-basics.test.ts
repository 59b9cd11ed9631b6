import { beforeAll, describe, expect, it } from 'vitest';
import type { DockerSandbox } from '../../worker/sandbox/docker-sandbox-provider.js';
import { HOST_LABEL } from '../../worker/sandbox/sandbox-labels.js';
import { checkSandboxReadiness } from '../../worker/sandbox/sandbox-readiness.js';
import { makeWorkspace, removeDir, SANDBOX_IMAGE, useSandbox } from './helpers.js';

describe('DockerSandbox basics (real Docker)', () => {
  const fixture = useSandbox(() => ({ image: SANDBOX_IMAGE, labels: { 'dev.pullwright.job': 'basics' } }));
  const { provider, docker } = fixture;
  let sandbox: DockerSandbox;

  beforeAll(() => {
    sandbox = fixture.sandbox();
  });

  it('runs argv and shell commands with separate stdout, stderr and exit code', async () => {
    const argv = await sandbox.exec({ cmd: ['printf', '%s', 'hello'] });
    expect(argv).toMatchObject({
      exitCode: 0,
      stdout: 'hello',
      stderr: '',
      timedOut: false,
      oomKilled: false,
    });
    const shell = await sandbox.exec({ cmd: 'echo out; echo err >&2; exit 3' });
    expect(shell.exitCode).toBe(3);
    expect(shell.stdout).toBe('out\n');
    expect(shell.stderr).toBe('err\n');
    expect(shell.durationMs).toBeGreaterThanOrEqual(0);
  });

  it('passes cwd, env and stdin', async () => {
    await sandbox.exec({ cmd: ['mkdir', '-p', 'sub/dir'] });
    const r = await sandbox.exec({
      cmd: 'pwd; echo "$GREETING"; cat',
      cwd: 'sub/dir',
      env: { GREETING: 'hi there' },
      stdin: 'from stdin',
    });
    expect(r.exitCode).toBe(0);
    expect(r.stdout).toBe('/workspace/sub/dir\nhi there\nfrom stdin');
  });

  it('truncates each stream at the cap, keeping the head', async () => {
    const r = await sandbox.exec({
      cmd: 'head -c 100000 /dev/zero | tr "\\0" a; echo tail >&2',
      maxOutputBytes: 1000,
    });
    expect(r.stdout).toBe('a'.repeat(1000));
    expect(r.stdoutTruncated).toBe(true);
    expect(r.stderr).toBe('tail\n');
    expect(r.stderrTruncated).toBe(false);
  });

  it('writes files as uid 1000 and reads them back, binary included', async () => {
    const bytes = Buffer.from([0, 1, 2, 255, 254, 10, 13]);
    await sandbox.writeFile('nested/deep/blob.bin', bytes);
    expect(await sandbox.readFile('nested/deep/blob.bin')).toEqual(bytes);
    await sandbox.writeFile('/workspace/text.txt', 'héllo\n');
    expect((await sandbox.readFile('text.txt')).toString('utf8')).toBe('héllo\n');
    const owner = await sandbox.exec({ cmd: ['stat', '-c', '%u:%g', 'nested/deep/blob.bin'] });
    expect(owner.stdout.trim()).toBe('1000:1000');
    await expect(sandbox.readFile('missing.txt')).rejects.toMatchObject({ code: 'not_found' });
  });

  it('returns after the command exits even when a background child keeps stdout open', async () => {
    const r = await sandbox.exec({ cmd: 'sleep 30 & echo started', timeoutMs: 20_000 });
    expect(r.exitCode).toBe(0);
    expect(r.timedOut).toBe(false);
    expect(r.stdout).toBe('started\n');
  });

  it('dispose is idempotent and removes the container', async () => {
    const ws = await makeWorkspace();
    const box = await provider.create({ image: SANDBOX_IMAGE }, ws);
    await box.dispose();
    await box.dispose();
    const left = await docker.listContainers({ all: true, filters: { name: [box.id] } });
    expect(left).toHaveLength(0);
    await expect(box.exec({ cmd: ['true'] })).rejects.toMatchObject({ code: 'sandbox_failed' });
    await removeDir(ws);
  });

  it('readiness passes against the real engine and image, and names a missing image', async () => {
    await expect(checkSandboxReadiness({ image: SANDBOX_IMAGE, docker })).resolves.toBeUndefined();
    await expect(
      checkSandboxReadiness({ image: 'pullwright-no-such-image:never', docker }),
    ).rejects.toMatchObject({ code: 'sandbox_failed', retryable: false });
  });

  // Bug 6: a flow's own host label was overwritten by the provider's; now it is refused outright.
  it('refuses a policy that sets a label the provider owns, before creating anything', async () => {
    const ws = await makeWorkspace();
    await expect(
      provider.create({ image: SANDBOX_IMAGE, labels: { [HOST_LABEL]: 'someone-else' } }, ws),
    ).rejects.toMatchObject({ code: 'input_invalid' });
    const left = await docker.listContainers({
      all: true,
      filters: { label: [`${HOST_LABEL}=someone-else`] },
    });
    expect(left).toHaveLength(0);
    await removeDir(ws);
  });
});
