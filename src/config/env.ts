import { readFileSync } from 'node:fs';
import { z } from 'zod';
import { parseEgressRanges } from '../domain/egress-address-policy.js';
import { PullwrightError } from '../errors.js';

/**
 * The one configuration loader, shared by the app, the worker and the CLI.
 * Every variable is documented in the README with its default. A bad or missing
 * value stops the process at boot with every problem listed at once.
 */

const bool = z
  .enum(['true', 'false', '1', '0', 'yes', 'no'])
  .transform((v) => v === 'true' || v === '1' || v === 'yes');
const int = (min: number, max = Number.MAX_SAFE_INTEGER) => z.coerce.number().int().min(min).max(max);
const url = z.url({ protocol: /^(https?|rediss?)$/ });
/** Comma-separated values, blanks dropped. */
const list = z.string().transform((v) =>
  v
    .split(',')
    .map((s) => s.trim())
    .filter((s) => s !== ''),
);
/** Internal ranges sandboxes may reach (a local mirror); the one classifier the egress proxy uses. */
const egressRanges = list.refine((entries) => {
  try {
    parseEgressRanges(entries);
    return true;
  } catch {
    return false;
  }
}, 'must be comma-separated addresses or CIDRs like 10.20.0.0/16');
/** `host:port` (`[::1]:26379` for IPv6), as Redis Sentinel addresses are written. */
const hostPort = z
  .string()
  .regex(/^(?:\[[0-9A-Fa-f:.]+\]|[A-Za-z0-9.-]+):\d{1,5}$/, 'must be host:port, e.g. 10.0.0.5:26379')
  .transform((v) => {
    const colon = v.lastIndexOf(':');
    return { host: v.slice(0, colon).replace(/^\[|\]$/g, ''), port: Number(v.slice(colon + 1)) };
  })
  .refine((p) => p.port >= 1 && p.port <= 65_535, 'port must be 1-65535');

export const NetworkMode = z.enum(['none', 'allowlist', 'open']);
export type NetworkMode = z.infer<typeof NetworkMode>;

/** How the model is asked to think: `auto` picks adaptive or budgeted per model (worker/model/README.md). */
export const ThinkingMode = z.enum(['auto', 'adaptive', 'budgeted', 'off']);
export type ThinkingMode = z.infer<typeof ThinkingMode>;

/** `output_config.effort`, sent with adaptive thinking. */
export const Effort = z.enum(['low', 'medium', 'high', 'xhigh', 'max']);
export type Effort = z.infer<typeof Effort>;

export const Env = z.object({
  // GitHub App
  APP_ID: z.string().regex(/^\d+$/, 'must be the numeric GitHub App id').optional(),
  PRIVATE_KEY: z.string().includes('PRIVATE KEY', { message: 'must be a PEM private key' }).optional(),
  PRIVATE_KEY_PATH: z.string().optional(),
  WEBHOOK_SECRET: z.string().min(8, 'must be at least 8 characters').optional(),
  APP_SLUG: z
    .string()
    .regex(/^[a-z0-9][a-z0-9-]*$/, 'must be the app slug (lowercase letters, digits, dashes)')
    .default('pullwright'),
  GITHUB_API_URL: url.default('https://api.github.com'),
  GITHUB_GIT_URL: url.default('https://github.com'),
  // Intake
  PORT: int(0, 65535).default(3000),
  HOST: z.string().default('0.0.0.0'),
  TRIGGER_PHRASE: z
    .string()
    .regex(/^@[A-Za-z0-9][A-Za-z0-9_-]*$/, 'must look like @agent')
    .default('@agent'),
  OPERATOR_TOKEN: z.string().min(16, 'must be at least 16 characters').optional(),
  REDIS_URL: url.default('redis://127.0.0.1:6379'),
  /** Redis Sentinel instead of REDIS_URL (src/queue/redis-connection.ts); needs REDIS_MASTER_NAME. */
  REDIS_SENTINELS: list.pipe(z.array(hostPort)).default([]),
  REDIS_MASTER_NAME: z.string().min(1).optional(),
  /** Used when REDIS_URL carries no password, and for the primary and replicas behind Sentinel. */
  REDIS_PASSWORD: z.string().min(1).optional(),
  /** The sentinels' own password (their `requirepass`), when they have one. */
  REDIS_SENTINEL_PASSWORD: z.string().min(1).optional(),
  QUEUE_PREFIX: z
    .string()
    .regex(/^[A-Za-z0-9_-]+$/)
    .default('pullwright'),
  // Worker
  WORKER_CONCURRENCY: int(1, 64).default(2),
  PER_REPO_CONCURRENCY: int(1, 64).default(1),
  PER_INSTALLATION_CONCURRENCY: int(1, 256).default(4),
  WORK_DIR: z.string().default('.pullwright'),
  RUNS_DIR: z.string().min(1).optional(),
  /** Days a transcript (<WORK_DIR>/transcripts) is kept after its last write; 0 keeps none past the run. */
  TRANSCRIPT_RETENTION_DAYS: int(0, 3_650).default(30),
  /**
   * Host folder for the sandboxes' egress sockets (allowlist network); default /tmp/pullwright-egress.
   * Docker resolves bind-mount sources on the engine's host, so a worker in a container needs a
   * folder bind-mounted at the same path (docker-compose.yml uses /var/lib/pullwright/egress).
   */
  EGRESS_DIR: z.string().min(1).optional(),
  SANDBOX_IMAGE: z.string().default('pullwright-sandbox:latest'),
  SHUTDOWN_GRACE_MS: int(0).default(30_000),
  JOB_LOCK_MS: int(1_000).default(30_000),
  // Operator caps: repo config can ask for less, never for more.
  MAX_NETWORK: NetworkMode.default('allowlist'),
  ALLOW_WORKFLOW_EDITS: bool.default(false),
  /** Mandatory protected paths (globs) on top of the built-in `.github/**` and `.gitmodules`. */
  PROTECTED_PATHS: list.default([]),
  /** Loopback, private, CGNAT, ULA and link-local stay unreachable from sandboxes (and repo configs) unless listed here. */
  EGRESS_ALLOW_PRIVATE_RANGES: egressRanges.default([]),
  /** The organization (the app installed there, all repositories) holding the forks `delivery: fork` pushes to. */
  FORK_OWNER: z
    .string()
    .regex(/^[A-Za-z0-9](?:[A-Za-z0-9]|-(?=[A-Za-z0-9])){0,38}$/, 'must be a GitHub organization login')
    .optional(),
  /** Every repository delivers through a fork in FORK_OWNER, whatever its `delivery` says. */
  FORCE_FORK_DELIVERY: bool.default(false),
  MAX_TURNS: int(1).default(100),
  MAX_COST_USD: z.coerce.number().positive().default(5),
  MAX_WALL_MINUTES: z.coerce.number().positive().default(30),
  /** Operator cap of a repo's `ci.maxRepairs`: CI repairs per pull request, counted across heads. */
  MAX_CI_REPAIRS: int(0, 20).default(2),
  // Run records and pages (src/runs)
  /** Days a finished run's record is kept in Redis. */
  RUN_RETENTION_DAYS: int(1, 3_650).default(30),
  /** Per-run cap of the stored record; past it the record keeps its head and tail. */
  RUN_RECORD_MAX_BYTES: int(16_384).default(1_048_576),
  /** All run records together; the oldest are evicted first past it. */
  RUN_STORE_MAX_BYTES: int(1_048_576).default(268_435_456),
  /** Public base URL of the app (run-page links in comments, PR bodies and check runs; OAuth callback). */
  PUBLIC_URL: url.optional(),
  /** GitHub's web origin for sign-in and app registration; defaults to GITHUB_GIT_URL. */
  GITHUB_WEB_URL: url.optional(),
  /** The GitHub App's OAuth client, for signing in to run pages. */
  GITHUB_CLIENT_ID: z.string().min(1).optional(),
  GITHUB_CLIENT_SECRET: z.string().min(1).optional(),
  /** Signs the run pages' session cookies; required with GITHUB_CLIENT_ID, shared by every app process. */
  SESSION_SECRET: z.string().min(32, 'must be at least 32 characters').optional(),
  /** Monthly model budget per installation; a repo's `limits.monthlyCostUsd` can only lower it. */
  MAX_MONTHLY_COST_USD: z.coerce.number().positive().optional(),
  /** Adds installation and repo labels to cost metrics (label cardinality is a cost: off by default). */
  METRICS_REPO_LABELS: bool.default(false),
  /** A webhook relay channel (smee) the app subscribes to, for trying Pullwright from a laptop. */
  WEBHOOK_PROXY_URL: url.optional(),
  // Warm environments (worker/environment)
  SNAPSHOTS_ENABLED: bool.default(true),
  /** Where setup snapshots are kept; default <WORK_DIR>/snapshots. Local to each worker host. */
  SNAPSHOT_DIR: z.string().min(1).optional(),
  SNAPSHOT_MAX_REPO_MB: int(1).default(4_096),
  SNAPSHOT_MAX_TOTAL_MB: int(1).default(20_480),
  SNAPSHOT_MAX_AGE_DAYS: int(1, 3_650).default(7),
  /** Secrets given to the setup container only (installations or repo globs → named values). */
  SETUP_SECRETS_FILE: z.string().min(1).optional(),
  /** Tool calls go through an in-container exec server when it answers (docker exec otherwise). */
  SANDBOX_EXEC_SERVER: bool.default(true),
  /**
   * Agent containers kept started on empty run folders, per agent network policy, so a run's
   * `docker start` is off its path (issue 17); 0 turns it off.
   */
  SANDBOX_POOL_SIZE: int(0, 8).default(1),
  // Harness
  /** The operator's tool permission policy (YAML or JSON); repos can only narrow it. */
  TOOL_POLICY_FILE: z.string().min(1).optional(),
  /** Which MCP servers repos may use, and the remote servers' operator-held credentials. */
  MCP_SERVERS_FILE: z.string().min(1).optional(),
  /** Subagents also get a read-only shell (view, search and list only otherwise). */
  SUBAGENT_SHELL: bool.default(false),
  /** Days the session memory of an issue or pull request is kept after its last run. */
  MEMORY_RETENTION_DAYS: int(1, 3_650).default(90),
  /** `pullwright eval` only: read access to the repository's GitHub remote (merged PRs → the issues they closed). */
  GITHUB_TOKEN: z.string().min(1).optional(),
  // Model
  ANTHROPIC_API_KEY: z.string().min(1).optional(),
  ANTHROPIC_BASE_URL: url.optional(),
  PULLWRIGHT_MODEL: z.string().default('claude-sonnet-5-5'),
  MAX_OUTPUT_TOKENS: int(256, 128_000).default(16_000),
  MODEL_TIMEOUT_MS: int(1_000).default(600_000),
  PULLWRIGHT_THINKING: ThinkingMode.default('auto'),
  PULLWRIGHT_EFFORT: Effort.optional(),
  PULLWRIGHT_THINKING_BUDGET: int(1_024, 128_000).default(8_000),
  // Logging
  LOG_LEVEL: z.enum(['fatal', 'error', 'warn', 'info', 'debug', 'trace', 'silent']).default('info'),
});
export type Env = z.infer<typeof Env>;

/** What each process needs beyond the schema's defaults. */
export type Role = 'app' | 'worker' | 'cli' | 'twin';

const REQUIRED: Record<Role, (keyof Env)[]> = {
  app: ['APP_ID', 'WEBHOOK_SECRET'],
  worker: ['APP_ID'],
  cli: [],
  twin: [],
};

export interface Config extends Env {
  /** The PEM key, read from PRIVATE_KEY or PRIVATE_KEY_PATH. */
  privateKey?: string;
  /** The bot user's login, `<slug>[bot]`. */
  botLogin: string;
}

export class ConfigError extends PullwrightError {
  readonly problems: string[];
  constructor(problems: string[]) {
    super('config_invalid', `Invalid configuration:\n${problems.map((p) => `  - ${p}`).join('\n')}`, {
      retryable: false,
    });
    this.problems = problems;
  }
}

/** Empty strings count as unset, as they do in most env files. */
function clean(env: NodeJS.ProcessEnv): Record<string, string> {
  const out: Record<string, string> = {};
  for (const [k, v] of Object.entries(env)) if (v !== undefined && v !== '') out[k] = v;
  return out;
}

export function parseConfig(role: Role, env: NodeJS.ProcessEnv = process.env): Config {
  const raw = clean(env);
  const problems: string[] = [];
  const parsed = Env.safeParse(raw);
  if (!parsed.success) {
    for (const issue of parsed.error.issues)
      problems.push(`${issue.path.join('.') || '(env)'}: ${issue.message}`);
  }
  // Required variables are checked on the raw input too, so one run lists every problem.
  for (const key of REQUIRED[role]) {
    if (raw[key] === undefined) problems.push(`${key}: is required for the ${role}`);
  }
  // Half a Sentinel setup would silently fall back to REDIS_URL: say so at boot instead.
  if (raw.REDIS_SENTINELS && !raw.REDIS_MASTER_NAME)
    problems.push('REDIS_MASTER_NAME: is required with REDIS_SENTINELS');
  if (raw.REDIS_MASTER_NAME && !raw.REDIS_SENTINELS)
    problems.push('REDIS_SENTINELS: is required with REDIS_MASTER_NAME');
  let privateKey = raw.PRIVATE_KEY?.replace(/\\n/g, '\n');
  if (!privateKey && raw.PRIVATE_KEY_PATH) {
    try {
      privateKey = readFileSync(raw.PRIVATE_KEY_PATH, 'utf8');
    } catch {
      problems.push(`PRIVATE_KEY_PATH: cannot read ${raw.PRIVATE_KEY_PATH}`);
    }
  }
  if (
    (role === 'app' || role === 'worker') &&
    !privateKey &&
    !problems.some((p) => p.startsWith('PRIVATE_KEY'))
  ) {
    problems.push(`PRIVATE_KEY or PRIVATE_KEY_PATH: is required for the ${role}`);
  }
  if (parsed.success && parsed.data.FORCE_FORK_DELIVERY && !parsed.data.FORK_OWNER) {
    problems.push('FORCE_FORK_DELIVERY: needs FORK_OWNER (the organization that holds the forks)');
  }
  // Sign-in without a shared key would sign cookies with a per-process secret that other app
  // processes reject; and a half-configured OAuth client fails only when someone signs in.
  if (raw.GITHUB_CLIENT_ID && !raw.SESSION_SECRET)
    problems.push('SESSION_SECRET: is required with GITHUB_CLIENT_ID (it signs the sign-in cookies)');
  if (Boolean(raw.GITHUB_CLIENT_ID) !== Boolean(raw.GITHUB_CLIENT_SECRET))
    problems.push('GITHUB_CLIENT_ID and GITHUB_CLIENT_SECRET: set both or neither');
  if (problems.length > 0 || !parsed.success) throw new ConfigError(problems);
  return { ...parsed.data, privateKey, botLogin: `${parsed.data.APP_SLUG}[bot]` };
}

/** For process entry points: prints every problem and exits non-zero instead of a stack trace. */
export function loadConfigOrExit(role: Role, env: NodeJS.ProcessEnv = process.env): Config {
  try {
    return parseConfig(role, env);
  } catch (err) {
    if (err instanceof ConfigError) {
      process.stderr.write(`pullwright: ${err.message}\nSee README.md, "Configuration".\n`);
      process.exit(78); // EX_CONFIG
    }
    throw err;
  }
}
