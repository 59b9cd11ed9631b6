/**
 * Tools and local-run benchmark (`npm run bench -- tools`). In one run:
 *  - baseline: a trivial `sandbox.exec` round trip (the floor every tool pays);
 *  - p50 of each default tool on the model twin's sample repository, as a ratio of
 *    that floor (roughly how many exec round trips a call costs);
 *  - output capping: `seq 1 2000000` through the bash tool next to the same command
 *    through a raw `sandbox.exec` (what the head/tail cut adds);
 *  - one `runLocal` on the twin's fix-failing-test scenario, split into model time,
 *    tool time and the harness's own time (working copy, sandbox, context, delivery).
 */
import { execFileSync } from 'node:child_process';
import { chownSync, mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { pino } from 'pino';
import { startModelTwin, writeFixFailingTestRepo } from '../tests/twins/model/index.js';

import type { Tool } from '../worker/agent/tool.js';
import { createDefaultTools } from '../worker/agent/tools/index.js';
import { runLocal } from '../worker/cli/run-local.js';
import { DockerSandboxProvider } from '../worker/sandbox/docker-sandbox-provider.js';

const RUNS = Number(process.env.BENCH_RUNS ?? 25);
const image = process.env.SANDBOX_IMAGE ?? 'pullwright-sandbox:latest';
const log = pino({ level: 'silent' });

function p50(values: number[]): number {
  const sorted = [...values].sort((a, b) => a - b);
  return sorted[Math.floor(sorted.length / 2)] as number;
}
const ms = (n: number) => `${n.toFixed(1)} ms`;

async function time(fn: () => Promise<unknown>, runs = RUNS): Promise<number> {
  await fn(); // warm-up
  const out: number[] = [];
  for (let i = 0; i < runs; i++) {
    const t = performance.now();
    await fn();
    out.push(performance.now() - t);
  }
  return p50(out);
}

function gitCommitAll(dir: string): void {
  const env = { ...process.env, GIT_CONFIG_GLOBAL: '/dev/null', GIT_CONFIG_NOSYSTEM: '1' };
  execFileSync('git', ['-C', dir, 'init', '-q', '-b', 'main'], { env });
  execFileSync('git', ['-C', dir, 'add', '-A'], { env });
  execFileSync('git', ['-C', dir, '-c', 'user.name=B', '-c', 'user.email=b@e.com', 'commit', '-qm', 'init'], {
    env,
  });
}

async function benchTools(): Promise<void> {
  const workspace = mkdtempSync(join(tmpdir(), 'pw-bench-tools-'));
  await writeFixFailingTestRepo(workspace);
  execFileSync('chown', ['-R', '1000:1000', workspace]);
  chownSync(workspace, 1000, 1000);
  const provider = new DockerSandboxProvider({ workerHostId: `bench-tools-${process.pid}` });
  const sandbox = await provider.create({ image, network: { mode: 'none' } }, workspace);
  try {
    const tools = new Map<string, Tool>(createDefaultTools().map((t) => [t.name, t]));
    const ctx = { sandbox, signal: new AbortController().signal, log };
    const call = async (name: string, input: unknown) => {
      const tool = tools.get(name) as Tool;
      const r = await tool.run(tool.input.parse(input), ctx);
      if (r.isError) throw new Error(`${name} failed: ${r.content.slice(0, 200)}`);
      return r;
    };
    const floor = await time(() => sandbox.exec({ cmd: ['true'] }));
    let flip = false;
    const cases: [string, () => Promise<unknown>][] = [
      ['bash `true`', () => call('bash', { command: 'true' })],
      [
        'view src/math.js',
        () => call('str_replace_based_edit_tool', { command: 'view', path: 'src/math.js' }),
      ],
      ['view directory .', () => call('str_replace_based_edit_tool', { command: 'view', path: '.' })],
      [
        'str_replace (unique)',
        () => {
          flip = !flip;
          const [a, b] = flip ? ['function clamp', 'function clamp2'] : ['function clamp2', 'function clamp'];
          return call('str_replace_based_edit_tool', {
            command: 'str_replace',
            path: 'src/math.js',
            old_str: a,
            new_str: b,
          });
        },
      ],
      ['search "function"', () => call('search', { pattern: 'function' })],
      ['list_files', () => call('list_files', {})],
    ];
    console.log(`exec floor (sandbox.exec true), p50 of ${RUNS}: ${ms(floor)}`);
    console.log('tool                      p50        x floor');
    for (const [name, fn] of cases) {
      const t = await time(fn);
      console.log(`${name.padEnd(25)} ${ms(t).padStart(10)}   ${(t / floor).toFixed(2)}x`);
    }
    const big = 'seq 1 2000000';
    const raw = await time(() => sandbox.exec({ cmd: big, maxOutputBytes: 4 * 1024 ** 2 }), 5);
    let shown = 0;
    const capped = await time(async () => {
      const r = await call('bash', { command: big });
      shown = r.content.length;
    }, 5);
    console.log(
      `huge output (${big}, ~14 MB): raw exec ${ms(raw)}, bash tool ${ms(capped)} (${(capped / raw).toFixed(2)}x), model sees ${shown} chars`,
    );
  } finally {
    await sandbox.dispose();
    rmSync(workspace, { recursive: true, force: true });
  }
}

async function benchLocalRun(): Promise<void> {
  const repo = mkdtempSync(join(tmpdir(), 'pw-bench-cli-'));
  await writeFixFailingTestRepo(repo);
  gitCommitAll(repo);
  const twin = await startModelTwin({ scenario: 'fix-failing-test' });
  try {
    const t = performance.now();
    const result = await runLocal({
      repo,
      task: 'Fix the failing tests.',
      env: {
        ANTHROPIC_API_KEY: twin.apiKey,
        ANTHROPIC_BASE_URL: twin.url,
        PULLWRIGHT_MODEL: 'claude-sonnet-5-5',
      },
    });
    const total = performance.now() - t;
    let modelMs = 0;
    let toolMs = 0;
    for (const line of readFileSync(result.transcriptPath, 'utf8').split('\n')) {
      if (!line) continue;
      const entry = JSON.parse(line) as { type?: string; durationMs?: number };
      if (entry.type === 'response') modelMs += entry.durationMs ?? 0;
      if (entry.type === 'tool') toolMs += entry.durationMs ?? 0;
    }
    const harness = total - modelMs - toolMs;
    console.log(
      `runLocal fix-failing-test: ${result.outcome}, ${result.turns} turns, branch ${result.branch ?? 'none'}, ${result.filesChanged.length} file(s)`,
    );
    console.log(
      `  total ${ms(total)} = model ${ms(modelMs)} + tools ${ms(toolMs)} + harness ${ms(harness)} (${((harness / total) * 100).toFixed(1)}% of the run)`,
    );
    console.log(
      `  tokens: ${result.usage.inputTokens} in, ${result.usage.cacheReadTokens} cache read, ${result.usage.cacheWriteTokens} cache write, ${result.usage.outputTokens} out; $${result.usage.costUsd.toFixed(4)}`,
    );
  } finally {
    await twin.close();
    rmSync(repo, { recursive: true, force: true });
  }
}

await benchTools();
await benchLocalRun();
