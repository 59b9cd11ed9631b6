import { readFile } from 'node:fs/promises';
import { parse as parseYaml, YAMLError } from 'yaml';
import type { z } from 'zod';
import { PullwrightError } from '../errors.js';

/**
 * The operator's YAML-or-JSON files named by the environment (TOOL_POLICY_FILE,
 * MCP_SERVERS_FILE, SETUP_SECRETS_FILE): read once at boot, validated with zod, and a
 * bad file stops the process (`config_invalid`) rather than run with a misread policy.
 * These files hold credentials, so no message quotes their content: a YAML error says
 * where it is, never the line, and a schema error gives paths and messages only.
 */

/** Parses `text` as YAML (JSON is YAML) against `schema`; an empty document is `empty`. */
export function parseOperatorFile<S extends z.ZodType>(
  schema: S,
  text: string,
  source: string,
  empty: unknown,
): z.output<S> {
  let data: unknown;
  try {
    data = parseYaml(text) ?? empty;
  } catch (err) {
    const at = err instanceof YAMLError && err.linePos ? ` (line ${err.linePos[0].line})` : '';
    throw new PullwrightError('config_invalid', `${source} is not valid YAML or JSON${at}`, { cause: err });
  }
  const parsed = schema.safeParse(data);
  if (!parsed.success) {
    const problems = parsed.error.issues.map((i) => `${i.path.join('.') || '(root)'}: ${i.message}`);
    throw new PullwrightError('config_invalid', `${source} is invalid: ${problems.join('; ')}`);
  }
  return parsed.data;
}

/** Reads the file a variable names; `name` is the variable, for the message. */
export async function readOperatorFile(name: string, path: string): Promise<string> {
  try {
    return await readFile(path, 'utf8');
  } catch (err) {
    const code = (err as NodeJS.ErrnoException).code ?? 'error';
    throw new PullwrightError('config_invalid', `${name} (${path}) cannot be read: ${code}`, { cause: err });
  }
}
