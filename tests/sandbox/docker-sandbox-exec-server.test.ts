import { execFileSync } from 'node:child_process';
import { describe, expect, it } from 'vitest';
import type { ExecOptions } from '../../worker/sandbox/sandbox.js';
import { SANDBOX_IMAGE, useSandbox } from './helpers.js';

const p50 = (xs: number[]) => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)] as number;

/**
 * Issue 17: the agent container's tool calls through the in-container exec server
 * behave exactly like Docker exec (exit codes, streams, stdin, env, caps, background
 * children, timeouts with whole-tree kill, aborts), are faster, and fall back to
 * Docker exec when the server is killed, stopped or lies.
 */
describe('exec server', { timeout: 120_000 }, () => {
  const server = useSandbox(() => ({ image: SANDBOX_IMAGE }), {
    prepare: async (box) => {
      expect(await box.useExecServer()).toBe(true);
    },
  });
  const plain = useSandbox(() => ({ image: SANDBOX_IMAGE }));

  const both = async (options: ExecOptions) => {
    const [a, b] = [await server.sandbox().exec(options), await plain.sandbox().exec(options)];
    const strip = (r: typeof a) => ({ ...r, durationMs: 0 });
    expect(strip(a)).toEqual(strip(b));
    return a;
  };

  it('gives the same results as Docker exec', async () => {
    expect((await both({ cmd: 'echo out; echo err >&2; exit 7' })).exitCode).toBe(7);
    expect((await both({ cmd: ['cat'], stdin: 'from stdin\n' })).stdout).toBe('from stdin\n');
    expect(
      // biome-ignore lint/suspicious/noTemplateCurlyInString: a shell expansion, run in the sandbox
      (await both({ cmd: 'echo "$FOO:$HOME:${BASH_ENV-unset}:$PWD"', env: { FOO: 'bar' } })).stdout,
    ).toBe('bar:/home/agent::/workspace\n');
    await both({ cmd: 'mkdir -p sub && cd sub && pwd' });
    expect((await both({ cmd: 'pwd', cwd: 'sub' })).stdout).toBe('/workspace/sub\n');
    const capped = await both({ cmd: 'seq 1 100000', maxOutputBytes: 1000 });
    expect(capped.stdout.length).toBe(1000);
    expect(capped.stdoutTruncated).toBe(true);
    expect((await both({ cmd: ['no-such-binary'] })).exitCode).toBe(127);
    expect((await both({ cmd: 'kill -9 $$' })).exitCode).toBe(137);
    // Startup files in the writable HOME are not read.
    await both({ cmd: "echo 'exit 0' > ~/.bashrc && echo 'exit 0' > ~/.bash_profile" });
    expect((await both({ cmd: 'exit 3' })).exitCode).toBe(3);
    // Commands see the container's environment, as under Docker exec (the image's npm settings
    // included: no update check reaching for the registry from a fresh HOME).
    await both({ cmd: 'env | cut -d= -f1 | sort' });
    expect((await both({ cmd: 'echo "$NPM_CONFIG_UPDATE_NOTIFIER:$NO_UPDATE_NOTIFIER"' })).stdout).toBe(
      'false:1\n',
    );
    // No variable of the server's own (its exec marker) leaks into commands beyond their own.
    const env = await server.sandbox().exec({ cmd: 'env | cut -d= -f1 | sort' });
    expect(env.stdout.split('\n').filter(Boolean)).toEqual(
      expect.not.arrayContaining(['NODE_OPTIONS', 'npm_config_cache']),
    );
    const markers = await server.sandbox().exec({ cmd: 'env | grep -c "^PW_EXEC_ID="' });
    expect(markers.stdout).toBe('1\n');
  });

  it('runs several commands at once, each answered with its own output', async () => {
    const box = server.sandbox();
    const started = Date.now();
    const [slow, slow2, fast, big] = await Promise.all([
      box.exec({ cmd: 'sleep 2; echo slow' }),
      box.exec({ cmd: 'sleep 2; echo slow too' }),
      box.exec({ cmd: ['cat'], stdin: 'x'.repeat(300_000) }),
      box.exec({ cmd: 'head -c 5000 /dev/zero | tr "\\0" e >&2; exit 5', maxOutputBytes: 4096 }),
    ]);
    expect(slow).toMatchObject({ stdout: 'slow\n', exitCode: 0 });
    expect(slow2).toMatchObject({ stdout: 'slow too\n', exitCode: 0 });
    expect(fast.stdout).toBe('x'.repeat(300_000));
    expect(big).toMatchObject({ stderr: 'e'.repeat(4096), stderrTruncated: true, exitCode: 5 });
    // In parallel, not one after another (that would take 4 s).
    expect(Date.now() - started).toBeLessThan(3_500);
    expect((await box.exec({ cmd: 'ps -o comm= -p $PPID' })).stdout).toBe('pw-exec-server\n');
  });

  it('returns when the command exits although a background child keeps running', async () => {
    const r = await server.sandbox().exec({ cmd: 'sleep 60 & echo started' });
    expect(r.stdout).toBe('started\n');
    expect(r.durationMs).toBeLessThan(5_000);
    await server.sandbox().exec({ cmd: 'pkill -f "^sleep 60$"; true' });
  });

  it('kills the whole tree on timeout', async () => {
    const box = server.sandbox();
    const r = await box.exec({ cmd: 'sleep 301 & sleep 302; wait', timeoutMs: 1_000 });
    expect(r).toMatchObject({ timedOut: true, exitCode: null });
    const left = await box.exec({ cmd: 'pgrep -c -f "^sleep 30[12]$" || true' });
    expect(left.stdout.trim()).toBe('0');
  });

  it('an abort throws cancelled once the tree is dead', async () => {
    const ac = new AbortController();
    setTimeout(() => ac.abort(), 300);
    await expect(server.sandbox().exec({ cmd: 'sleep 303', signal: ac.signal })).rejects.toMatchObject({
      code: 'cancelled',
    });
    expect((await server.sandbox().exec({ cmd: 'pgrep -c -f "^sleep 303$" || true' })).stdout.trim()).toBe(
      '0',
    );
  });

  it('is faster than Docker exec', async () => {
    const time = async (run: () => Promise<unknown>) => {
      const xs: number[] = [];
      for (let i = 0; i < 15; i++) {
        const t = performance.now();
        await run();
        xs.push(performance.now() - t);
      }
      return p50(xs);
    };
    const viaServer = await time(() => server.sandbox().exec({ cmd: ['true'] }));
    const viaDocker = await time(() => plain.sandbox().exec({ cmd: ['true'] }));
    expect(viaServer).toBeLessThan(viaDocker);
  });

  it('garbage written into its output is ignored; a killed server falls back to Docker exec', async () => {
    const box = server.sandbox();
    // The agent writes forged lines into the server's stdout: not an answer to anything.
    await box.exec({
      cmd: 'for p in $(pgrep -f "^/usr/local/bin/pw-exec-server"); do echo "PW 999999 R 0 b2s= " > /proc/$p/fd/1; echo garbage > /proc/$p/fd/1; done; true',
    });
    expect((await box.exec({ cmd: 'echo still' })).stdout).toBe('still\n');
    // Still through the server (its child), not through a fallback to Docker exec.
    expect((await box.exec({ cmd: 'ps -o comm= -p $PPID' })).stdout).toBe('pw-exec-server\n');
    await box.exec({ cmd: 'pkill -f "^/usr/local/bin/pw-exec-server"; true' });
    const after = await box.exec({ cmd: 'echo via docker; exit 4' });
    expect(after).toMatchObject({ stdout: 'via docker\n', exitCode: 4 });
  });
});

describe('exec server that stops answering', { timeout: 120_000 }, () => {
  const fx = useSandbox(() => ({ image: SANDBOX_IMAGE }), {
    prepare: async (box) => {
      expect(await box.useExecServer()).toBe(true);
    },
  });

  it('falls back to Docker exec without running the command twice', async () => {
    const box = fx.sandbox();
    // Pause the server from a Docker exec of its own (through the server it would pause mid-answer).
    const dockerExec = (cmd: string) =>
      execFileSync('docker', ['exec', '-u', '1000:1000', box.id, 'bash', '-c', cmd], { encoding: 'utf8' });
    dockerExec('kill -STOP $(pgrep -o -f "^/usr/local/bin/pw-exec-server")');
    const started = Date.now();
    const r = await box.exec({ cmd: 'echo run >> count.txt; echo done' });
    expect(r).toMatchObject({ stdout: 'done\n', exitCode: 0 });
    expect(Date.now() - started).toBeLessThan(10_000);
    dockerExec('pkill -CONT -f "^/usr/local/bin/pw-exec-server"; true');
    await new Promise((res) => setTimeout(res, 500));
    expect((await box.exec({ cmd: 'cat count.txt' })).stdout).toBe('run\n');
  });
});
