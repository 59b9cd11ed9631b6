import { z } from 'zod';
import { parseOperatorFile, readOperatorFile } from '../../src/config/operator-file.js';
import { globToRegExp } from '../../src/domain/path-glob.js';

/**
 * Setup-only secrets (issue 17): the operator's `SETUP_SECRETS_FILE` maps
 * installations or repository globs to named values, which the session injects
 * as environment variables into the setup container and nowhere else.
 *
 * ```yaml
 * - repos: ["acme/*"]          # owner/name globs (`*` within a segment)
 *   installations: [123]      # and/or installation ids
 *   env:
 *     NPM_TOKEN: "npm_…"
 * ```
 * A rule applies when every selector it has matches (a rule needs at least one);
 * later rules override earlier ones for the same name.
 */
const NAME = /^[A-Za-z_][A-Za-z0-9_]*$/;
/** Names that would change how setup's shell or loader start: refused, never injected. */
const RESERVED = new Set(['BASH_ENV', 'ENV', 'PATH', 'HOME', 'LD_PRELOAD', 'LD_LIBRARY_PATH', 'PW_EXEC_ID']);

export const SetupSecretRule = z
  .object({
    repos: z.array(z.string().min(1)).optional(),
    installations: z.array(z.number().int().positive()).optional(),
    env: z.record(
      z
        .string()
        .regex(NAME, 'an environment variable name')
        .refine((n) => !RESERVED.has(n), 'a reserved name'),
      // At least 8 characters: every value is scrubbed from setup's output by exact match,
      // and a short value would scrub ordinary words (and is no real secret).
      z.string().min(8, 'at least 8 characters'),
    ),
  })
  .strict()
  .refine((r) => (r.repos?.length ?? 0) + (r.installations?.length ?? 0) > 0, {
    message: 'a rule needs `repos` or `installations`',
  });
export type SetupSecretRule = z.infer<typeof SetupSecretRule>;

export const SetupSecretsFile = z.array(SetupSecretRule).max(1000);

export interface SecretScope {
  installationId: number;
  /** `owner/name`. */
  repo: string;
}

export interface SetupSecrets {
  /** The named values for one repository (empty when no rule matches). */
  forScope(scope: SecretScope): Record<string, string>;
  /** Every value in the file, for scrubbing (a log line never shows one). */
  allValues(): string[];
}

export function parseSetupSecrets(text: string, source = 'SETUP_SECRETS_FILE'): SetupSecrets {
  const parsed = parseOperatorFile(SetupSecretsFile, text, source, []);
  const rules = parsed.map((rule) => ({
    rule,
    repos: (rule.repos ?? []).map((g) => globToRegExp(g.toLowerCase())),
  }));
  return {
    forScope(scope) {
      const repo = scope.repo.toLowerCase();
      const env: Record<string, string> = {};
      for (const { rule, repos } of rules) {
        if (rule.installations && !rule.installations.includes(scope.installationId)) continue;
        if (rule.repos && !repos.some((r) => r.test(repo))) continue;
        Object.assign(env, rule.env);
      }
      return env;
    },
    allValues: () => [...new Set(parsed.flatMap((r) => Object.values(r.env)))],
  };
}

export async function loadSetupSecrets(path: string | undefined): Promise<SetupSecrets | null> {
  if (!path) return null;
  return parseSetupSecrets(await readOperatorFile('SETUP_SECRETS_FILE', path));
}
