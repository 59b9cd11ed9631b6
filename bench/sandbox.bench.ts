/**
 * Sandbox and workspace benchmark (`npm run bench -- sandbox`). In one run:
 *  - clone time, cold versus warm, for a generated repository of 5,000 files and
 *    1,000 commits served over smart HTTP (git http-backend on 127.0.0.1);
 *  - sandbox ready (working copy made from a warm cache + container running with it);
 *  - exec round-trip p50/p99 of a trivial command through DockerSandbox next to a
 *    raw dockerode exec on the same container (the practical floor).
 * Targets: ready within 1 s on a warm cache; exec at most 1.2x the raw exec.
 */
import { execFileSync, spawnSync } from 'node:child_process';
import { chownSync, mkdirSync, mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { startGitHttpServer } from '../tests/workspace/git-http-server.js';
import { DockerSandboxProvider } from '../worker/sandbox/docker-sandbox-provider.js';
import { reapSandboxes } from '../worker/sandbox/reap-sandboxes.js';
import { safeGitEnv } from '../worker/workspace/git.js';
import { ensureRepoCache } from '../worker/workspace/repo-cache.js';
import { ensurePrivateDir, resolveRunsRoot } from '../worker/workspace/runs-location.js';
import { createWorkingCopy } from '../worker/workspace/working-copy.js';

const FILES = 5_000;
const COMMITS = 1_000;
const EXEC_RUNS = 200;
const READY_RUNS = 7;
const TOKEN = 'ghs_benchbenchbenchbenchbenchbench1234';
const image = process.env.SANDBOX_IMAGE ?? 'pullwright-sandbox:latest';

function quantile(values: number[], q: number): number {
  const sorted = [...values].sort((a, b) => a - b);
  return sorted[Math.min(sorted.length - 1, Math.floor(q * sorted.length))] as number;
}
const ms = (n: number) => `${n.toFixed(1)} ms`;

function fastImportStream(): Buffer {
  const parts: string[] = [];
  let mark = 0;
  const fileMarks: number[] = [];
  for (let i = 0; i < FILES; i++) {
    const body = `// file ${i}\nexport const value${i} = ${i};\n${'x'.repeat(i % 400)}\n`;
    mark++;
    parts.push(`blob\nmark :${mark}\ndata ${Buffer.byteLength(body)}\n${body}\n`);
    fileMarks.push(mark);
  }
  const path = (i: number) => `src/mod${i % 50}/file${i}.ts`;
  let time = 1_700_000_000;
  const commit = (msg: string, body: string) => {
    time += 60;
    parts.push(
      `commit refs/heads/main\ncommitter Bench <bench@example.com> ${time} +0000\ndata ${Buffer.byteLength(msg)}\n${msg}\n${body}`,
    );
  };
  commit('initial', fileMarks.map((m, i) => `M 100644 :${m} ${path(i)}\n`).join(''));
  for (let c = 1; c < COMMITS; c++) {
    let body = '';
    for (let k = 0; k < 5; k++) {
      const i = (c * 7919 + k * 104729) % FILES;
      const content = `// file ${i}\nexport const value${i} = ${c};\n`;
      body += `M 100644 inline ${path(i)}\ndata ${Buffer.byteLength(content)}\n${content}\n`;
    }
    commit(`change ${c}`, body);
  }
  return Buffer.from(parts.join(''));
}

async function main(): Promise<void> {
  const root = mkdtempSync(join(tmpdir(), 'pw-bench-sandbox-'));
  const workerHostId = `bench-${process.pid}`;
  // dockerode stays inside worker/sandbox: the raw-exec baseline uses the provider's own client.
  const provider = new DockerSandboxProvider({ workerHostId });
  const docker = provider.docker;
  const server = await (async () => {
    const bare = join(root, 'remote', 'bench', 'big.git');
    mkdirSync(bare, { recursive: true });
    const env = safeGitEnv();
    execFileSync('git', ['init', '--quiet', '--bare', bare], { env });
    let t = performance.now();
    const stream = fastImportStream();
    const imp = spawnSync('git', ['--git-dir', bare, 'fast-import', '--quiet'], { input: stream, env });
    if (imp.status !== 0) throw new Error(`fast-import failed: ${imp.stderr}`);
    execFileSync('git', ['--git-dir', bare, 'repack', '-adq'], { env });
    execFileSync('git', ['--git-dir', bare, 'symbolic-ref', 'HEAD', 'refs/heads/main'], { env });
    process.stdout.write(`generated ${FILES} files x ${COMMITS} commits in ${ms(performance.now() - t)}\n`);
    t = performance.now();
    return startGitHttpServer(join(root, 'remote'), TOKEN);
  })();
  const remoteUrl = `${server.url}/bench/big.git`;
  try {
    // Clone: cold (empty cache) versus warm (cache exists; one new commit upstream).
    const cacheDir = join(root, 'cache');
    let t = performance.now();
    const cache = await ensureRepoCache({ remoteUrl, token: TOKEN, cacheDir });
    const coldFetch = performance.now() - t;
    t = performance.now();
    await createWorkingCopy({ cache, ref: 'main', dir: join(root, 'jobs', 'cold') });
    const coldCopy = performance.now() - t;

    const scratch = join(root, 'scratch');
    const env = safeGitEnv({
      GIT_AUTHOR_NAME: 'B',
      GIT_AUTHOR_EMAIL: 'b@example.com',
      GIT_COMMITTER_NAME: 'B',
      GIT_COMMITTER_EMAIL: 'b@example.com',
    });
    execFileSync('git', ['clone', '--quiet', join(root, 'remote', 'bench', 'big.git'), scratch], { env });
    execFileSync('bash', ['-c', `echo change >> ${scratch}/src/mod1/file1.ts`]);
    execFileSync('git', ['-C', scratch, 'commit', '--quiet', '-am', 'new upstream commit'], { env });
    execFileSync('git', ['-C', scratch, 'push', '--quiet', 'origin', 'main'], { env });

    type Run = { fetch: number; copy: number; create: number; ready: number; overlapped: number };
    const measureReady = async (jobsRoot: string): Promise<Run[]> => {
      const runs: Run[] = [];
      for (let i = 0; i < READY_RUNS; i++) {
        // Sequential: fetch, then working copy, then container.
        const t0 = performance.now();
        const c = await ensureRepoCache({ remoteUrl, token: TOKEN, cacheDir });
        const t1 = performance.now();
        const copy = await createWorkingCopy({ cache: c, ref: 'main', dir: join(jobsRoot, `seq-${i}`) });
        const t2 = performance.now();
        const box = await provider.create({ image }, copy.dir);
        const t3 = performance.now();
        await box.dispose();
        rmSync(copy.dir, { recursive: true, force: true });
        // Overlapped: the container starts on the empty folder while the checkout is written.
        const dir = join(jobsRoot, `par-${i}`);
        const u0 = performance.now();
        const c2 = await ensureRepoCache({ remoteUrl, token: TOKEN, cacheDir });
        mkdirSync(dir, { recursive: true });
        chownSync(dir, 1000, 1000);
        const [, box2] = await Promise.all([
          createWorkingCopy({ cache: c2, ref: 'main', dir }),
          provider.create({ image }, dir),
        ]);
        const u1 = performance.now();
        await box2.dispose();
        rmSync(dir, { recursive: true, force: true });
        runs.push({ fetch: t1 - t0, copy: t2 - t1, create: t3 - t2, ready: t3 - t0, overlapped: u1 - u0 });
      }
      return runs;
    };
    // Where a worker with default settings puts its working copies (resolveRunsRoot), then disk.
    const defaultBase = await resolveRunsRoot({ WORK_DIR: join(root, 'work') });
    await ensurePrivateDir(defaultBase);
    const defaultRoot = mkdtempSync(join(defaultBase, 'bench-'));
    const atDefault = await measureReady(defaultRoot);
    rmSync(defaultRoot, { recursive: true, force: true });
    const onDisk = await measureReady(join(root, 'jobs'));
    const med = (runs: Run[], k: keyof Run) =>
      quantile(
        runs.map((w) => w[k]),
        0.5,
      );
    process.stdout.write('\n-- clone (5,000 files, 1,000 commits, over HTTP; working copy on disk) --\n');
    process.stdout.write(
      `cold: fetch into cache ${ms(coldFetch)} + working copy ${ms(coldCopy)} = ${ms(coldFetch + coldCopy)}\n`,
    );
    const warmTotal = med(onDisk, 'fetch') + med(onDisk, 'copy');
    process.stdout.write(
      `warm: fetch ${ms(med(onDisk, 'fetch'))} + working copy ${ms(med(onDisk, 'copy'))} = ${ms(warmTotal)} (median of ${READY_RUNS})\n`,
    );
    process.stdout.write(
      `fetch warm/cold: ${(med(onDisk, 'fetch') / coldFetch).toFixed(2)}x; total warm/cold: ${(warmTotal / (coldFetch + coldCopy)).toFixed(2)}x\n`,
    );
    for (const [label, runs] of [
      [`working copies where the worker puts them by default (${defaultBase})`, atDefault],
      ['working copies on disk (RUNS_DIR on a disk folder)', onDisk],
    ] as const) {
      process.stdout.write(`\n-- sandbox ready, warm cache, ${label} (median of ${READY_RUNS}) --\n`);
      process.stdout.write(
        `fetch ${ms(med(runs, 'fetch'))} + working copy ${ms(med(runs, 'copy'))} + container create/start ${ms(med(runs, 'create'))}\n`,
      );
      process.stdout.write(
        `ready, sequential: p50 ${ms(med(runs, 'ready'))}; target 1000 ms -> ${med(runs, 'ready') <= 1000 ? 'MET' : 'MISSED'}\n`,
      );
      process.stdout.write(
        `ready, container started during checkout: p50 ${ms(med(runs, 'overlapped'))}; target 1000 ms -> ${med(runs, 'overlapped') <= 1000 ? 'MET' : 'MISSED'}\n`,
      );
    }

    // Exec round trip.
    const ws = join(root, 'jobs', 'exec');
    await createWorkingCopy({ cache, ref: 'main', dir: ws });
    const box = await provider.create({ image }, ws);
    try {
      const container = docker.getContainer(box.id);
      const raw = async () => {
        const e = await container.exec({
          Cmd: ['true'],
          AttachStdout: true,
          AttachStderr: true,
          User: '1000:1000',
        });
        const s = await e.start({ hijack: true, stdin: false });
        await new Promise<void>((resolve) => {
          s.on('end', () => resolve());
          s.on('close', () => resolve());
          s.resume();
        });
        await e.inspect();
      };
      const ours = async () => {
        const r = await box.exec({ cmd: ['true'] });
        if (r.exitCode !== 0) throw new Error('exec failed');
      };
      for (let i = 0; i < 10; i++) {
        await raw();
        await ours();
      }
      const rawTimes: number[] = [];
      const ourTimes: number[] = [];
      // Interleaved so both see the same machine noise.
      for (let i = 0; i < EXEC_RUNS; i++) {
        let s = performance.now();
        await raw();
        rawTimes.push(performance.now() - s);
        s = performance.now();
        await ours();
        ourTimes.push(performance.now() - s);
      }
      const r50 = quantile(rawTimes, 0.5);
      const r99 = quantile(rawTimes, 0.99);
      const o50 = quantile(ourTimes, 0.5);
      const o99 = quantile(ourTimes, 0.99);
      process.stdout.write(`\n-- exec round trip of \`true\` (${EXEC_RUNS} runs each, interleaved) --\n`);
      process.stdout.write(`raw dockerode exec: p50 ${ms(r50)}  p99 ${ms(r99)}\n`);
      process.stdout.write(`DockerSandbox.exec: p50 ${ms(o50)}  p99 ${ms(o99)}\n`);
      process.stdout.write(
        `ratio p50 ${(o50 / r50).toFixed(2)}x, p99 ${(o99 / r99).toFixed(2)}x; target <= 1.2x -> ${o50 / r50 <= 1.2 ? 'MET' : 'MISSED'}\n`,
      );
      // The agent container's tool calls: the same DockerSandbox.exec through its exec server.
      if (!(await box.useExecServer())) throw new Error('the exec server did not start');
      for (let i = 0; i < 10; i++) await ours();
      const viaServer: number[] = [];
      for (let i = 0; i < EXEC_RUNS; i++) {
        const s = performance.now();
        await ours();
        viaServer.push(performance.now() - s);
      }
      const s50 = quantile(viaServer, 0.5);
      process.stdout.write(
        `DockerSandbox.exec through the exec server (pw-exec-server): p50 ${ms(s50)}  p99 ${ms(quantile(viaServer, 0.99))} (${(s50 / r50).toFixed(2)}x raw Docker exec)\n`,
      );
    } finally {
      await box.dispose();
    }
  } finally {
    await server.close();
    await reapSandboxes({ workerHostId, docker });
    rmSync(root, { recursive: true, force: true });
  }
}

// Exit explicitly, so a handle some later change leaks cannot keep a finished run alive.
main()
  .then(() => process.exit(0))
  .catch((err) => {
    process.stderr.write(`${err instanceof Error ? err.stack : String(err)}\n`);
    process.exit(1);
  });
