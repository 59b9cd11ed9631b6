import { randomBytes } from 'node:crypto';
import { open, readFile, rename, rm } from 'node:fs/promises';
import { basename, dirname, join } from 'node:path';
import { PullwrightError } from '../errors.js';

/**
 * Writes settings into a `.env` file: other lines are kept, the named keys replaced or appended,
 * and the file ends up mode 0600 whatever it was (it holds the app's private key and secrets).
 */

const KEY = /^[A-Z][A-Z0-9_]*$/;

/**
 * A value as one line that Node's `--env-file` / `process.loadEnvFile` and Docker Compose read back
 * unchanged: bare when plain, single-quoted (literal) when it has no newline, else double-quoted
 * with `\n` escapes. Those parsers know no other escape, so a value they cannot carry is refused.
 */
export function formatEnvValue(value: string): string {
  if (/^[A-Za-z0-9_./:@+-]*$/.test(value)) return value;
  if (!/[\r\n']/.test(value)) return `'${value}'`;
  if (!/["\\]/.test(value)) return `"${value.replace(/\r?\n/g, '\\n')}"`;
  throw new PullwrightError(
    'input_invalid',
    'A value with a newline and a quote or backslash cannot be written to .env',
  );
}

/** The keys set (to a non-empty value) in an env file's text. */
export function envKeys(text: string): Set<string> {
  const keys = new Set<string>();
  for (const line of text.split(/\r?\n/)) {
    const m = /^\s*(?:export\s+)?([A-Za-z_][A-Za-z0-9_]*)\s*=\s*(.*)$/.exec(line);
    if (m && m[2]!.trim() !== '' && m[2]!.trim() !== '""' && m[2]!.trim() !== "''") keys.add(m[1]!);
  }
  return keys;
}

export async function readEnvFile(path: string): Promise<string> {
  try {
    return await readFile(path, 'utf8');
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code === 'ENOENT') return '';
    throw err;
  }
}

/**
 * Sets `values` in the env file at `path`, atomically: a new file created 0600 next to it, then
 * renamed over it, so no reader ever sees half a key and no moment exists where it is world-readable.
 */
export async function updateEnvFile(path: string, values: Record<string, string>): Promise<void> {
  for (const key of Object.keys(values))
    if (!KEY.test(key)) throw new PullwrightError('input_invalid', `Not an env variable name: ${key}`);
  const lines = (await readEnvFile(path)).split(/\r?\n/);
  if (lines.at(-1) === '') lines.pop();
  const pending = new Map(Object.entries(values));
  const out = lines.map((line) => {
    const m = /^\s*(?:export\s+)?([A-Za-z_][A-Za-z0-9_]*)\s*=/.exec(line);
    const key = m?.[1];
    if (key && pending.has(key)) {
      const v = pending.get(key)!;
      pending.delete(key);
      return `${key}=${formatEnvValue(v)}`;
    }
    return line;
  });
  for (const [k, v] of pending) out.push(`${k}=${formatEnvValue(v)}`);
  const tmp = join(dirname(path), `.${basename(path)}.${randomBytes(6).toString('hex')}.tmp`);
  const handle = await open(tmp, 'wx', 0o600);
  try {
    await handle.writeFile(`${out.join('\n')}\n`);
    await handle.chmod(0o600); // the umask cannot widen it, but make the intent explicit
    await handle.sync();
  } finally {
    await handle.close();
  }
  try {
    await rename(tmp, path);
  } catch (err) {
    await rm(tmp, { force: true });
    throw err;
  }
}
