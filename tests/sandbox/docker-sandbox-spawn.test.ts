import { describe, expect, it } from 'vitest';
import { useSandbox } from './helpers.js';

const read = (s: NodeJS.ReadableStream): Promise<string> =>
  new Promise((resolve) => {
    let out = '';
    s.on('data', (c: Buffer) => {
      out += c.toString('utf8');
    });
    s.on('end', () => resolve(out));
  });

/** `spawn`: a long-lived process with streaming stdin/stdout (MCP stdio servers, tar streams). */
describe('DockerSandbox.spawn', { timeout: 60_000 }, () => {
  const fx = useSandbox(() => ({ image: process.env.SANDBOX_IMAGE ?? 'pullwright-sandbox:latest' }));

  it('streams stdin to the process and its stdout back, line by line, and reports the exit code', async () => {
    const proc = await fx.sandbox().spawn({
      cmd: [
        'bash',
        '--noprofile',
        '--norc',
        '-c',
        'while read -r l; do echo "got:$l"; echo "err:$l" >&2; done; exit 3',
      ],
    });
    const lines: string[] = [];
    proc.stdout.on('data', (c: Buffer) => lines.push(...c.toString().split('\n').filter(Boolean)));
    const err = read(proc.stderr);
    proc.stdin.write('one\n');
    // A reply arrives while stdin is still open: a request/response protocol works over it.
    await expect.poll(() => lines, { timeout: 5_000 }).toEqual(['got:one']);
    proc.stdin.write('two\n');
    proc.stdin.end();
    expect(await proc.exited).toBe(3);
    expect(lines).toEqual(['got:one', 'got:two']);
    expect(await err).toBe('err:one\nerr:two\n');
  });

  it('kill() ends the whole tree, background children included', async () => {
    const box = fx.sandbox();
    const proc = await box.spawn({ cmd: 'sleep 300 & sleep 301; wait' });
    await expect
      .poll(async () => (await box.exec({ cmd: 'pgrep -c -f "^sleep 30[01]$" || true' })).stdout.trim())
      .toBe('2');
    await proc.kill();
    expect(await proc.exited).toBeNull();
    const left = await box.exec({ cmd: 'pgrep -c -f "^sleep 30[01]$" || true' });
    expect(left.stdout.trim()).toBe('0');
  });

  it('streams many megabytes without loss (a slow reader pauses the process)', async () => {
    const proc = await fx.sandbox().spawn({ cmd: ['bash', '-c', 'head -c 20000000 /dev/zero'] });
    proc.stdin.end();
    let bytes = 0;
    for await (const chunk of proc.stdout) {
      bytes += (chunk as Buffer).length;
      if (bytes < 1_000_000) await new Promise((r) => setTimeout(r, 1));
    }
    expect(bytes).toBe(20_000_000);
    expect(await proc.exited).toBe(0);
  });

  it('an aborted signal kills the process', async () => {
    const ac = new AbortController();
    const proc = await fx.sandbox().spawn({ cmd: 'sleep 300', signal: ac.signal });
    ac.abort();
    expect(await proc.exited).toBeNull();
  });
});
