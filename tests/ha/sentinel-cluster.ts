import { type ChildProcess, execFileSync, spawn } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { createConnection } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Redis } from 'ioredis';

/**
 * A Redis primary, one replica and three Sentinels on loopback, run from Debian's
 * `redis-server` / `redis-sentinel` in a temp dir of their own (passwords in 0600
 * config files, never on a command line), for failover tests. Ports 6480-6481 and
 * 26480-26482 are used by nothing else in the suite. Sentinel's timings are cut
 * to about a second so a failover ends in a few seconds.
 */
export const HA_HOST = '127.0.0.1';
export const DATA_PORTS = [6480, 6481] as const;
export const SENTINEL_PORTS = [26480, 26481, 26482] as const;
export const MASTER_NAME = 'pullwright-ha';
const DOWN_AFTER_MS = 1_000;
const FAILOVER_TIMEOUT_MS = 5_000;

export interface SentinelCluster {
  password: string;
  sentinelPassword: string;
  /** Env for `parseConfig`: REDIS_SENTINELS, REDIS_MASTER_NAME and both passwords. */
  env: Record<string, string>;
  /** The primary's port as a majority of the sentinels report it. */
  primaryPort(): Promise<number>;
  /** SIGKILLs the current primary (a crash: no shutdown, no last save) and returns its port. */
  killPrimary(): Promise<number>;
  /** Resolves with the new primary's port once the sentinels report a primary other than `oldPort` and it takes writes. */
  waitForFailover(oldPort: number, timeoutMs?: number): Promise<number>;
  /** One command straight to one data node (to look at what landed where). */
  command(port: number, command: string, ...args: string[]): Promise<unknown>;
  close(): Promise<void>;
}

/**
 * Debian's packages, installed the way scripts/services.sh installs what it needs
 * when run as root; otherwise a clear failure (never a skip: CI must notice).
 */
export function ensureRedisSentinelInstalled(): void {
  const has = (bin: string) => {
    try {
      execFileSync('sh', ['-c', `command -v ${bin}`], { stdio: 'ignore' });
      return true;
    } catch {
      return false;
    }
  };
  if (has('redis-server') && has('redis-sentinel')) return;
  if (process.getuid?.() === 0 && has('apt-get')) {
    const env = { ...process.env, DEBIAN_FRONTEND: 'noninteractive' };
    execFileSync('apt-get', ['update', '-qq'], { stdio: 'ignore', env });
    execFileSync(
      'apt-get',
      ['install', '-y', '-qq', '--no-install-recommends', 'redis-server', 'redis-sentinel'],
      {
        stdio: 'ignore',
        env,
      },
    );
    if (has('redis-sentinel')) return;
  }
  throw new Error(
    'redis-server and redis-sentinel are required for tests/ha: run scripts/services.sh up as root, or apt-get install -y redis-sentinel',
  );
}

function portAnswers(port: number): Promise<boolean> {
  return new Promise((resolve) => {
    const socket = createConnection({ host: HA_HOST, port });
    socket.once('connect', () => {
      socket.destroy();
      resolve(true);
    });
    socket.once('error', () => resolve(false));
  });
}

async function until<T>(
  what: string,
  fn: () => Promise<T | null | undefined | false>,
  timeoutMs: number,
): Promise<T> {
  const deadline = Date.now() + timeoutMs;
  let last: unknown;
  for (;;) {
    try {
      const value = await fn();
      if (value) return value;
    } catch (err) {
      last = err;
    }
    if (Date.now() > deadline)
      throw new Error(`Timed out waiting for ${what}${last ? `: ${String(last)}` : ''}`);
    await new Promise((r) => setTimeout(r, 100));
  }
}

function client(port: number, password: string): Redis {
  return new Redis({
    host: HA_HOST,
    port,
    password,
    lazyConnect: true,
    maxRetriesPerRequest: 0,
    enableOfflineQueue: false,
    retryStrategy: () => null,
  });
}

/** One command on a fresh connection: no client survives into the next poll (or the test's end). */
async function ask(port: number, password: string, command: string, ...args: string[]): Promise<unknown> {
  const c = client(port, password);
  c.on('error', () => {});
  try {
    await c.connect();
    return await c.call(command, ...args);
  } finally {
    c.disconnect();
  }
}

export async function startSentinelCluster(): Promise<SentinelCluster> {
  ensureRedisSentinelInstalled();
  for (const port of [...DATA_PORTS, ...SENTINEL_PORTS]) {
    if (await portAnswers(port))
      throw new Error(`Port ${port} is in use; tests/ha needs ports 6480-6481 and 26480-26482`);
  }
  const dir = await mkdtemp(join(tmpdir(), 'pullwright-ha-'));
  const password = randomBytes(16).toString('hex');
  const sentinelPassword = randomBytes(16).toString('hex');
  const processes = new Map<number, ChildProcess>();

  const start = async (bin: string, port: number, lines: string[]) => {
    const conf = join(dir, `${port}.conf`);
    await writeFile(conf, `${lines.join('\n')}\n`, { mode: 0o600 });
    const child = spawn(bin, [conf], { cwd: dir, stdio: 'ignore' });
    child.on('error', () => {});
    processes.set(port, child);
  };
  const common = (port: number) => [
    `port ${port}`,
    `bind ${HA_HOST}`,
    'protected-mode no',
    'daemonize no',
    `dir ${dir}`,
    `logfile ${join(dir, `${port}.log`)}`,
  ];

  try {
    const [primary, replica] = DATA_PORTS;
    for (const port of DATA_PORTS) {
      await start('redis-server', port, [
        ...common(port),
        `dbfilename dump-${port}.rdb`,
        'save ""',
        'appendonly no',
        `requirepass ${password}`,
        `masterauth ${password}`,
        ...(port === replica ? [`replicaof ${HA_HOST} ${primary}`] : []),
      ]);
    }
    await until(
      'the replica to sync with the primary',
      async () => /master_link_status:up/.test(String(await ask(replica, password, 'INFO', 'replication'))),
      20_000,
    );
    for (const port of SENTINEL_PORTS) {
      await start('redis-sentinel', port, [
        ...common(port),
        `requirepass ${sentinelPassword}`,
        `sentinel sentinel-pass ${sentinelPassword}`,
        `sentinel monitor ${MASTER_NAME} ${HA_HOST} ${primary} 2`,
        `sentinel auth-pass ${MASTER_NAME} ${password}`,
        `sentinel down-after-milliseconds ${MASTER_NAME} ${DOWN_AFTER_MS}`,
        `sentinel failover-timeout ${MASTER_NAME} ${FAILOVER_TIMEOUT_MS}`,
        `sentinel parallel-syncs ${MASTER_NAME} 1`,
      ]);
    }
    // A failover needs a quorum and a leader: each sentinel must know the replica and the two others.
    for (const port of SENTINEL_PORTS) {
      await until(
        `sentinel ${port} to see the replica and the other sentinels`,
        async () => {
          const info = String(await ask(port, sentinelPassword, 'INFO', 'sentinel'));
          return new RegExp(
            `name=${MASTER_NAME},status=ok,address=${HA_HOST}:${primary},slaves=1,sentinels=3`,
          ).test(info);
        },
        30_000,
      );
    }
  } catch (err) {
    for (const child of processes.values()) child.kill('SIGKILL');
    await rm(dir, { recursive: true, force: true });
    throw err;
  }

  const primaryPort = async () => {
    const votes = new Map<number, number>();
    for (const port of SENTINEL_PORTS) {
      const reply = (await ask(
        port,
        sentinelPassword,
        'SENTINEL',
        'get-master-addr-by-name',
        MASTER_NAME,
      ).catch(() => null)) as [string, string] | null;
      if (reply) votes.set(Number(reply[1]), (votes.get(Number(reply[1])) ?? 0) + 1);
    }
    const [best] = [...votes.entries()].sort((a, b) => b[1] - a[1]);
    if (!best || best[1] < 2) throw new Error('The sentinels do not agree on a primary');
    return best[0];
  };

  return {
    password,
    sentinelPassword,
    env: {
      REDIS_SENTINELS: SENTINEL_PORTS.map((p) => `${HA_HOST}:${p}`).join(','),
      REDIS_MASTER_NAME: MASTER_NAME,
      REDIS_PASSWORD: password,
      REDIS_SENTINEL_PASSWORD: sentinelPassword,
    },
    primaryPort,
    async killPrimary() {
      const port = await primaryPort();
      const child = processes.get(port);
      if (!child) throw new Error(`No process of ours serves ${port}`);
      const exited = new Promise((r) => child.once('exit', r));
      child.kill('SIGKILL');
      await exited;
      return port;
    },
    async waitForFailover(oldPort, timeoutMs = 30_000) {
      return until(
        'the sentinels to promote the replica',
        async () => {
          const port = await primaryPort();
          if (port === oldPort) return null;
          const role = (await ask(port, password, 'ROLE')) as [string];
          return role[0] === 'master' ? port : null;
        },
        timeoutMs,
      );
    },
    command: (port, command, ...args) => ask(port, password, command, ...args),
    async close() {
      const exits = [...processes.values()]
        .filter((child) => child.exitCode === null && child.signalCode === null)
        .map((child) => {
          const exited = new Promise((r) => child.once('exit', r));
          child.kill('SIGKILL');
          return exited;
        });
      await Promise.all(exits);
      await rm(dir, { recursive: true, force: true });
    },
  };
}
