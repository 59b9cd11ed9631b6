import { parse as parseYaml } from 'yaml';
import { z } from 'zod';

/**
 * `.github/pullwright.yml`: what a repository asks of Pullwright. Read from the
 * default branch only (never a PR head, so a contributor cannot widen what the
 * agent may do by editing the file in their own PR). Parsing is lenient: each
 * section that is wrong falls back to its default and is listed as a problem,
 * so one typo never silences the bot. Documented in docs/configuration.md.
 */

export const REPO_CONFIG_PATH = '.github/pullwright.yml';

const host = z
  .string()
  .min(1)
  .max(253)
  .regex(/^(\*\.)?[A-Za-z0-9.-]+(:\d{1,5})?$/, 'must be a host name like registry.npmjs.org');

export const RepoNetworkPolicy = z.union([
  z.enum(['none', 'open']).transform((mode) => ({ mode })),
  z.object({ mode: z.literal('none') }).strict(),
  z.object({ mode: z.literal('open') }).strict(),
  z.object({ mode: z.literal('allowlist'), hosts: z.array(host).max(200) }).strict(),
]);
export type RepoNetworkPolicy = { mode: 'none' } | { mode: 'open' } | { mode: 'allowlist'; hosts: string[] };

/** Five fields (minute hour day month weekday) or six with seconds first; BullMQ checks the rest. */
const cron = z
  .string()
  .trim()
  .regex(/^(\S+\s+){4,5}\S+$/, 'must be a cron expression with 5 or 6 fields');

function isTimeZone(tz: string): boolean {
  try {
    new Intl.DateTimeFormat('en-US', { timeZone: tz });
    return true;
  } catch {
    return false;
  }
}

export const MaintenanceTaskConfig = z
  .object({
    id: z
      .string()
      .regex(/^[a-z0-9][a-z0-9-]{0,62}$/, 'must be lowercase letters, digits and dashes (max 63)'),
    cron,
    timezone: z.string().refine(isTimeZone, 'must be an IANA time zone like Europe/Paris').default('UTC'),
    prompt: z.string().min(1).max(10_000),
    maxOpenPrs: z.number().int().min(0).max(50).default(1),
    maxNewPrsPerHour: z.number().int().min(0).max(60).default(1),
  })
  .strict();
export type MaintenanceTaskConfig = z.infer<typeof MaintenanceTaskConfig>;

/** Allow and deny lists of one kind of tool permission (worker/agent/permissions). */
const ruleList = (item: z.ZodType<string>) =>
  z
    .object({ allow: z.array(item).max(100).default([]), deny: z.array(item).max(100).default([]) })
    .strict()
    .default({ allow: [], deny: [] });

const pattern = z.string().min(1).max(500);

/**
 * An MCP server a repository asks for. `command` servers run inside the sandbox (they see only
 * what the agent sees); `remote` names a server the operator defined in MCP_SERVERS_FILE, whose
 * URL and credentials stay on the host. Either way the operator decides which may run.
 */
export const McpServerConfig = z.union([
  z
    .object({
      name: z.string().regex(/^[a-z0-9][a-z0-9_-]{0,31}$/, 'must be lowercase letters, digits, "_" or "-"'),
      command: z.string().min(1).max(500),
      args: z.array(z.string().max(1_000)).max(50).default([]),
    })
    .strict(),
  z
    .object({
      name: z.string().regex(/^[a-z0-9][a-z0-9_-]{0,31}$/, 'must be lowercase letters, digits, "_" or "-"'),
      remote: z.string().min(1).max(64),
    })
    .strict(),
]);
export type McpServerConfig = z.infer<typeof McpServerConfig>;

/** Each section with its documented default; see docs/configuration.md. */
const SECTIONS = {
  trigger: z
    .string()
    .regex(/^@[A-Za-z0-9][A-Za-z0-9_-]*$/, 'must look like @agent')
    .nullable()
    .default(null),
  setup: z.string().min(1).max(2_000).nullable().default(null),
  verify: z.array(z.string().min(1).max(2_000)).max(20).default([]),
  network: z
    .object({
      setup: RepoNetworkPolicy.default({ mode: 'none' }),
      agent: RepoNetworkPolicy.default({ mode: 'none' }),
    })
    .strict()
    .default({ setup: { mode: 'none' }, agent: { mode: 'none' } }),
  limits: z
    .object({
      turns: z.number().int().min(1).optional(),
      costUsd: z.number().positive().optional(),
      wallMinutes: z.number().positive().optional(),
      // Only lowers the operator's MAX_MONTHLY_COST_USD (per installation) for this repository.
      monthlyCostUsd: z.number().positive().optional(),
    })
    .strict()
    .default({}),
  // Added to the built-in and the operator's lists, never instead of them (effective-repo-config.ts).
  protectedPaths: z.array(z.string().min(1).max(500)).max(100).default([]),
  allowWorkflowEdits: z.boolean().default(false),
  // `fork`: the change is pushed to the operator's fork (FORK_OWNER) and the PR opened from it, so CI
  // runs it as a fork PR without the repository's secrets (worker/delivery/fork-delivery.ts).
  delivery: z.enum(['branch', 'fork']).default('branch'),
  pr: z
    .object({
      draft: z.boolean().default(false),
      labels: z.array(z.string().min(1).max(50)).max(20).default([]),
      branchPrefix: z
        .string()
        .regex(/^[A-Za-z0-9._/-]{1,50}$/, 'must be letters, digits, ".", "_", "-" or "/"')
        .refine((p) => !p.includes('..') && !p.startsWith('/'), 'must be a plain ref prefix')
        .default('pullwright/'),
    })
    .strict()
    .default({ draft: false, labels: [], branchPrefix: 'pullwright/' }),
  // Follow-through (worker/flows/modes): CI repair of Pullwright's own PRs, bounded per PR.
  ci: z
    .object({ repair: z.boolean().default(true), maxRepairs: z.number().int().min(0).max(20).default(2) })
    .strict()
    .default({ repair: true, maxRepairs: 2 }),
  updateBranch: z.enum(['off', 'conflicts', 'always-behind']).default('conflicts'),
  review: z
    .object({ resolveThreads: z.boolean().default(true), selfReview: z.boolean().default(true) })
    .strict()
    .default({ resolveThreads: true, selfReview: true }),
  checkRun: z.boolean().default(true),
  dashboard: z.boolean().default(true),
  // Files whose content decides what `setup` produces; [] = the common lockfiles (worker/environment).
  setupCacheKey: z
    .array(
      z
        .string()
        .min(1)
        .max(500)
        .refine(
          (glob) => !glob.split('/').includes('..') && !glob.startsWith('/'),
          'must be a path inside the repository',
        ),
    )
    .max(50)
    .default([]),
  permissions: z
    .object({
      shell: ruleList(pattern),
      write: ruleList(pattern),
      network: ruleList(pattern),
      // Tool-name globs (`mcp__tracker__delete_*`, `delegate`).
      tools: ruleList(pattern),
    })
    .strict()
    .default({
      shell: { allow: [], deny: [] },
      write: { allow: [], deny: [] },
      network: { allow: [], deny: [] },
      tools: { allow: [], deny: [] },
    }),
  mcp: z
    .object({ servers: z.array(McpServerConfig).max(10).default([]) })
    .strict()
    .default({ servers: [] }),
} as const;

export const RepoConfig = z.object(SECTIONS);
export type RepoConfig = z.infer<typeof RepoConfig> & { maintenance: MaintenanceTaskConfig[] };

export interface ParsedRepoConfig {
  config: RepoConfig;
  /** Human-readable problems; each one made a section or task fall back to its default. */
  problems: string[];
}

export function defaultRepoConfig(): RepoConfig {
  return { ...RepoConfig.parse({}), maintenance: [] };
}

function describe(error: z.ZodError, prefix: string): string[] {
  return error.issues.map((issue) => {
    const path = [prefix, ...issue.path.map(String)].filter(Boolean).join('.');
    return `${path}: ${issue.message}`;
  });
}

/**
 * Lenient parse of the file's text (null when the file does not exist). Never
 * throws: bad YAML or a bad section yields the defaults plus a list of problems.
 */
export function parseRepoConfig(text: string | null): ParsedRepoConfig {
  const config = defaultRepoConfig();
  const problems: string[] = [];
  if (text === null || text.trim() === '') return { config, problems };
  let raw: unknown;
  try {
    raw = parseYaml(text, { maxAliasCount: 50, prettyErrors: false });
  } catch (err) {
    const message = err instanceof Error ? err.message.split('\n')[0] : 'unreadable';
    return { config, problems: [`${REPO_CONFIG_PATH} is not valid YAML: ${message}`] };
  }
  if (raw === null || raw === undefined) return { config, problems };
  if (typeof raw !== 'object' || Array.isArray(raw)) {
    return { config, problems: [`${REPO_CONFIG_PATH} must be a mapping of settings`] };
  }
  const record = raw as Record<string, unknown>;
  const known = new Set([...Object.keys(SECTIONS), 'maintenance']);
  for (const key of Object.keys(record)) {
    if (!known.has(key)) problems.push(`${key}: unknown setting (ignored)`);
  }
  const target = config as Record<string, unknown>;
  for (const [key, schema] of Object.entries(SECTIONS)) {
    if (!(key in record)) continue;
    const parsed = (schema as z.ZodType).safeParse(record[key]);
    if (parsed.success) target[key] = parsed.data;
    else problems.push(...describe(parsed.error, key).map((p) => `${p} (default used)`));
  }
  if ('maintenance' in record && record.maintenance !== null) {
    if (!Array.isArray(record.maintenance)) {
      problems.push('maintenance: must be a list of tasks (no tasks scheduled)');
    } else {
      const seen = new Set<string>();
      record.maintenance.forEach((item, index) => {
        const parsed = MaintenanceTaskConfig.safeParse(item);
        if (!parsed.success) {
          problems.push(...describe(parsed.error, `maintenance.${index}`).map((p) => `${p} (task skipped)`));
        } else if (seen.has(parsed.data.id)) {
          problems.push(`maintenance.${index}.id: duplicate id "${parsed.data.id}" (task skipped)`);
        } else {
          seen.add(parsed.data.id);
          config.maintenance.push(parsed.data);
        }
      });
      if (config.maintenance.length > 50) {
        problems.push('maintenance: at most 50 tasks (the rest are skipped)');
        config.maintenance.length = 50;
      }
    }
  }
  return { config, problems };
}
