import { execFile } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { promisify } from 'node:util';
import { afterAll, describe, expect, it } from 'vitest';
import type { DockerSandbox } from '../../worker/sandbox/docker-sandbox-provider.js';
import { SANDBOX_IMAGE, useSandbox } from './helpers.js';

const run = promisify(execFile);

// Issue 14 item 6: HOME is a writable tmpfs, so the agent can leave startup files there.
// Were commands run by a login or interactive shell (`bash -lc`), `exit 0` in one of them
// would make every later command, the verify commands included, report success.
const POISON = 'echo poisoned; exit 0\n';
const POISON_FILES = ['.bash_profile', '.bash_login', '.profile', '.bashrc', '.bash_env', '.env.sh'];

async function poisonHome(sandbox: DockerSandbox): Promise<void> {
  const writes = POISON_FILES.map((f) => `printf %s "$1" > "$HOME/${f}"`).join(' && ');
  const r = await sandbox.exec({ cmd: ['bash', '-c', writes, 'pw-poison', POISON] });
  expect(r.exitCode).toBe(0);
}

describe('DockerSandbox runs commands without profile or rc files (real Docker)', () => {
  const fixture = useSandbox(
    () => ({ image: SANDBOX_IMAGE, labels: { 'dev.pullwright.job': 'no-profile' } }),
    { prepare: poisonHome },
  );
  const sandbox = () => fixture.sandbox();

  it('reports a failing command with its real exit code after HOME was poisoned', async () => {
    for (const [cmd, code] of [
      ['exit 7', 7],
      ['false', 1],
      ['test -e /workspace/no-such-file', 1],
      ['echo ran; exit 3', 3],
    ] as const) {
      const r = await sandbox().exec({ cmd });
      expect({ cmd, exitCode: r.exitCode, stdout: r.stdout }).toEqual({
        cmd,
        exitCode: code,
        stdout: cmd.startsWith('echo ran') ? 'ran\n' : '',
      });
    }
  });

  it('keeps argv `bash -c` commands (the tools use them) free of the poison too', async () => {
    const r = await sandbox().exec({ cmd: ['bash', '-c', 'exit 5'] });
    expect(r.exitCode).toBe(5);
    expect(r.stdout).toBe('');
  });

  it('still gives commands the image PATH, locale and HOME', async () => {
    const r = await sandbox().exec({
      cmd: 'echo "$PATH"; echo "$LANG"; echo "$HOME"; command -v git node rg',
    });
    expect(r.exitCode).toBe(0);
    const [path = '', lang, home, ...tools] = r.stdout.trim().split('\n');
    expect(path.split(':')).toEqual(expect.arrayContaining(['/usr/local/bin', '/usr/bin', '/bin']));
    expect(lang).toBe('C.UTF-8');
    expect(home).toBe('/home/agent');
    expect(tools).toHaveLength(3);
  });

  it('refuses a caller-supplied BASH_ENV or ENV (they name a file every bash or sh would run first)', async () => {
    for (const name of ['BASH_ENV', 'ENV']) {
      await expect(
        sandbox().exec({ cmd: 'exit 4', env: { [name]: '/home/agent/.bash_env' } }),
      ).rejects.toMatchObject({ code: 'input_invalid' });
    }
  });
});

describe('An image that sets BASH_ENV or ENV does not run them (real Docker)', () => {
  const image = `pullwright-sandbox-bashenv-test:${randomBytes(4).toString('hex')}`;
  // A repository's own image built FROM ours could carry these; the agent can write the files.
  const buildImage = async () => {
    const dockerfile = `FROM ${SANDBOX_IMAGE}\nENV BASH_ENV=/home/agent/.bash_env ENV=/home/agent/.env.sh\n`;
    const build = run('docker', ['build', '-q', '-t', image, '-'], { timeout: 60_000 });
    build.child.stdin?.end(dockerfile);
    await build;
  };
  // Registered before the fixture: hooks unwind as a stack, so the container is gone first.
  afterAll(async () => {
    await run('docker', ['image', 'rm', '-f', image]).catch(() => undefined);
  });
  const fixture = useSandbox(() => ({ image, labels: { 'dev.pullwright.job': 'no-bash-env' } }), {
    before: buildImage,
    prepare: poisonHome,
  });
  const sandbox = () => fixture.sandbox();

  it('reports the real exit code of string and argv bash commands', async () => {
    expect((await sandbox().exec({ cmd: 'exit 6' })).exitCode).toBe(6);
    expect((await sandbox().exec({ cmd: ['bash', '-c', 'exit 6'] })).exitCode).toBe(6);
    const sh = await sandbox().exec({ cmd: ['sh', '-c', 'exit 6'] });
    expect(sh.exitCode).toBe(6);
  });
});
