import { readFile, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import {
  REPO_CONFIG_SCHEMA_PATH,
  repoConfigJsonSchemaText,
} from '../src/repo-config/repo-config-json-schema.js';

/**
 * `npm run schema:config`: writes schema/pullwright.schema.json from the zod schema of
 * `.github/pullwright.yml`, each key described by its row in docs/configuration.md. `--check` only compares, and exits 1 when the file is stale.
 */
const root = join(import.meta.dirname, '..');
const path = join(root, REPO_CONFIG_SCHEMA_PATH);
const text = repoConfigJsonSchemaText(await readFile(join(root, 'docs/configuration.md'), 'utf8'));
if (process.argv.includes('--check')) {
  const current = await readFile(path, 'utf8').catch(() => '');
  if (current !== text) {
    process.stderr.write(`${REPO_CONFIG_SCHEMA_PATH} is stale: run npm run schema:config\n`);
    process.exit(1);
  }
  process.stdout.write(`${REPO_CONFIG_SCHEMA_PATH} is up to date\n`);
} else {
  await writeFile(path, text);
  process.stdout.write(`wrote ${REPO_CONFIG_SCHEMA_PATH}\n`);
}
