import { type ChildProcess, spawn } from 'node:child_process';
import { once } from 'node:events';
import { fileURLToPath } from 'node:url';
import Anthropic from '@anthropic-ai/sdk';
import { afterEach, describe, expect, it } from 'vitest';

const MAIN = fileURLToPath(new URL('./main.ts', import.meta.url));
let child: ChildProcess | undefined;

afterEach(async () => {
  if (child && child.exitCode === null) {
    child.kill('SIGTERM');
    await once(child, 'exit');
  }
  child = undefined;
});

function start(args: string[], env: Record<string, string>) {
  const proc = spawn(process.execPath, ['--import', 'tsx', MAIN, ...args], {
    env: { ...process.env, ...env },
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  child = proc;
  let out = '';
  let err = '';
  proc.stdout.on('data', (d: Buffer) => {
    out += d.toString();
  });
  proc.stderr.on('data', (d: Buffer) => {
    err += d.toString();
  });
  return {
    proc,
    url: () =>
      new Promise<string>((resolve, reject) => {
        const check = () => {
          const match = /listening on (http:\/\/\S+)/.exec(out);
          if (match) return resolve(match[1]!);
          if (proc.exitCode !== null) return reject(new Error(`exited ${proc.exitCode}: ${err}`));
          setTimeout(check, 50);
        };
        check();
      }),
    stderr: () => err,
    stdout: () => out,
    line: (pattern: RegExp) =>
      new Promise<void>((resolve, reject) => {
        const check = () => {
          if (pattern.test(out)) return resolve();
          if (proc.exitCode !== null) return reject(new Error(`exited ${proc.exitCode}: ${err}`));
          setTimeout(check, 50);
        };
        check();
      }),
  };
}

describe('npm run twin:model (standalone)', () => {
  it('listens on MODEL_TWIN_PORT with the chosen scenario and key, and stops on SIGTERM', async () => {
    const twin = start(['--scenario', 'fix-failing-test'], {
      MODEL_TWIN_PORT: '0',
      MODEL_TWIN_API_KEY: 'sk-ant-standalone-test',
    });
    const url = await twin.url();
    const health = (await (await fetch(`${url}/_twin/health`)).json()) as { scenario: string };
    expect(health.scenario).toBe('fix-failing-test');
    const client = new Anthropic({ baseURL: url, apiKey: 'sk-ant-standalone-test', maxRetries: 0 });
    const tools = ['bash', 'update_plan'].map((name) => ({
      name,
      input_schema: { type: 'object' as const },
    }));
    const message = await client.messages.create({
      model: 'claude-sonnet-5-5',
      max_tokens: 500,
      tools,
      messages: [{ role: 'user', content: 'fix the tests' }],
    });
    expect(message.content.filter((b) => b.type === 'tool_use').map((b) => b.name)).toEqual([
      'update_plan',
      'bash',
    ]);
    // It logs one line per request, never the key.
    await twin.line(/POST \/v1\/messages 200 fix-failing-test turn 1 .*tools=update_plan,bash/);
    expect(twin.stdout()).not.toContain('sk-ant-standalone-test');
    twin.proc.kill('SIGTERM');
    const [code] = await once(twin.proc, 'exit');
    expect(code).toBe(0);
  });

  it('refuses an unknown scenario with exit code 2', async () => {
    const twin = start(['--scenario', 'nope'], { MODEL_TWIN_PORT: '0' });
    const [code] = await once(twin.proc, 'exit');
    expect(code).toBe(2);
    expect(twin.stderr()).toContain('unknown scenario "nope"');
  });
});
