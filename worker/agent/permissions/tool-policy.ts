import { z } from 'zod';
import { parseOperatorFile, readOperatorFile } from '../../../src/config/operator-file.js';

/**
 * The tool permission policy as data: allow and deny rules for shell commands, for the
 * paths the editor may write, for network hosts and for tool names (MCP tools). The
 * operator's policy (TOOL_POLICY_FILE) and the repository's `permissions` are two
 * LAYERS: a call must pass every layer, so a repository can only narrow what the
 * operator allows, never widen it (a repo config is written by anyone with push access
 * and read from the default branch; the operator's file is the authority).
 *
 * Within a layer: a call matching a deny rule is refused; when the allow list is not
 * empty, a call matching none of it is refused too. Empty lists deny nothing.
 */
const pattern = z.string().trim().min(1).max(500);
export const RuleList = z
  .object({ allow: z.array(pattern).max(200).default([]), deny: z.array(pattern).max(200).default([]) })
  .strict()
  .default({ allow: [], deny: [] });
export type RuleList = z.infer<typeof RuleList>;

export const PermissionRules = z
  .object({
    /** Command patterns on the parsed command: `git push`, `rm -rf`, `npm run *`, `curl`. */
    shell: RuleList,
    /** Path globs relative to the repository root (`src/**`, `.github/**`). */
    write: RuleList,
    /** Host patterns (`registry.npmjs.org`, `*.example.com`). */
    network: RuleList,
    /** Tool name globs (`mcp__tracker__*`, `delegate`). */
    tools: RuleList,
  })
  .strict();
export type PermissionRules = z.infer<typeof PermissionRules>;
export type PermissionRulesInput = z.input<typeof PermissionRules>;

export type RuleKind = 'shell' | 'write' | 'network' | 'tools';
export const RULE_KINDS: readonly RuleKind[] = ['shell', 'write', 'network', 'tools'];

export interface PolicyLayer {
  source: 'operator' | 'repo';
  rules: PermissionRules;
}

/** The effective policy of one run: every layer must allow a call. Shown in the run record. */
export interface ToolPolicy {
  layers: PolicyLayer[];
  /** Repository rules that were not valid and were ignored (the run says so). */
  problems: string[];
}

export const EMPTY_RULES: PermissionRules = PermissionRules.parse({});

/** The default: nothing denied, so every tool works as it does without a policy. */
export const OPEN_POLICY: ToolPolicy = { layers: [], problems: [] };

function isEmpty(rules: PermissionRules): boolean {
  return RULE_KINDS.every((k) => rules[k].allow.length === 0 && rules[k].deny.length === 0);
}

/**
 * Parses the operator's policy text (YAML or JSON: JSON is YAML). Invalid → `config_invalid`
 * listing every problem, so the worker refuses to boot rather than run with a policy it
 * misread.
 */
export function parseToolPolicy(text: string, source = 'TOOL_POLICY_FILE'): PermissionRules {
  return parseOperatorFile(PermissionRules, text, source, {});
}

export async function loadToolPolicyFile(path: string | undefined): Promise<PermissionRules> {
  if (!path) return EMPTY_RULES;
  return parseToolPolicy(await readOperatorFile('TOOL_POLICY_FILE', path), `TOOL_POLICY_FILE (${path})`);
}

/**
 * The run's policy: the operator's layer, then the repository's. The repo's rules are
 * re-validated here (the worker does not trust the shape it was handed); an invalid repo
 * section is ignored and reported, and since the repo only narrows, ignoring it never
 * grants more than the operator allows.
 */
export function resolveToolPolicy(operator: PermissionRules, repo: unknown): ToolPolicy {
  const layers: PolicyLayer[] = [];
  const problems: string[] = [];
  if (!isEmpty(operator)) layers.push({ source: 'operator', rules: operator });
  if (repo !== undefined && repo !== null) {
    const parsed = PermissionRules.safeParse(repo);
    if (parsed.success) {
      if (!isEmpty(parsed.data)) layers.push({ source: 'repo', rules: parsed.data });
    } else {
      problems.push(
        ...parsed.error.issues.map((i) => `permissions.${i.path.join('.')}: ${i.message} (ignored)`),
      );
    }
  }
  return { layers, problems };
}

/** A plain summary for the run record and the PR: which rules came from where. */
export function describeToolPolicy(policy: ToolPolicy): {
  source: 'operator' | 'repo';
  rules: Partial<Record<RuleKind, RuleList>>;
}[] {
  return policy.layers.map((l) => ({
    source: l.source,
    rules: Object.fromEntries(
      RULE_KINDS.filter((k) => l.rules[k].allow.length + l.rules[k].deny.length > 0).map((k) => [
        k,
        l.rules[k],
      ]),
    ),
  }));
}
