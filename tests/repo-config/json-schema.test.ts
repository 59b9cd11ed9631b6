import { readFileSync } from 'node:fs';
import { join, resolve } from 'node:path';
import { Ajv2020 } from 'ajv/dist/2020.js';
import { describe, expect, it } from 'vitest';
import { parse as parseYaml } from 'yaml';
import { parseRepoConfig } from '../../src/repo-config/repo-config.js';
import {
  documentedSettings,
  REPO_CONFIG_SCHEMA_PATH,
  repoConfigJsonSchema,
  repoConfigJsonSchemaText,
} from '../../src/repo-config/repo-config-json-schema.js';

const ROOT = resolve(import.meta.dirname, '../..');
const docs = readFileSync(join(ROOT, 'docs/configuration.md'), 'utf8');
const committed = readFileSync(join(ROOT, REPO_CONFIG_SCHEMA_PATH), 'utf8');

type Schema = { properties?: Record<string, Schema>; items?: Schema; description?: string };

let compiled: ReturnType<Ajv2020['compile']> | undefined;
/** Compiled once: ajv's compile is the slow part of this file. */
function validator() {
  if (compiled) return compiled;
  const ajv = new Ajv2020({ allErrors: true });
  ajv.addKeyword('markdownDescription');
  compiled = ajv.compile(JSON.parse(committed));
  return compiled;
}

describe('schema/pullwright.schema.json', () => {
  it('is what the zod schema generates today (run `npm run schema:config` after changing it)', () => {
    expect(committed).toBe(repoConfigJsonSchemaText(docs));
  });

  it('describes every key, from its row in docs/configuration.md', () => {
    const schema = repoConfigJsonSchema(docs) as Schema;
    const missing: string[] = [];
    for (const [key, property] of Object.entries(schema.properties ?? {})) {
      const nested = key === 'maintenance' ? {} : (property.properties ?? {});
      if (Object.keys(nested).length === 0 && !property.description) missing.push(key);
      for (const [inner, p] of Object.entries(nested)) if (!p.description) missing.push(`${key}.${inner}`);
    }
    for (const [key, p] of Object.entries(schema.properties?.maintenance?.items?.properties ?? {})) {
      if (!p.description) missing.push(`maintenance.${key}`);
    }
    expect(missing).toEqual([]);
    expect(documentedSettings(docs).get('ci.maxRepairs')).toMatch(/counted across heads.*Default: `2`/);
  });

  it('accepts the documented example, and a file using every follow-through setting', () => {
    const validate = validator();
    const example = docs.match(/```yaml\n([\s\S]*?)```/)?.[1] ?? '';
    expect(validate(parseYaml(example)), JSON.stringify(validate.errors)).toBe(true);
    const full = {
      ci: { repair: true, maxRepairs: 3 },
      updateBranch: 'always-behind',
      review: { resolveThreads: false, selfReview: true },
      checkRun: false,
      dashboard: false,
      network: { setup: 'open', agent: { mode: 'allowlist', hosts: ['registry.npmjs.org'] } },
      maintenance: [{ id: 'deps', cron: '0 6 * * 1', prompt: 'Update deps' }],
    };
    expect(validate(full), JSON.stringify(validate.errors)).toBe(true);
    expect(parseRepoConfig(JSON.stringify(full)).problems).toEqual([]);
  });

  it('flags the mistakes the parser reports as problems', () => {
    const validate = validator();
    const mistakes: Record<string, unknown>[] = [
      { colour: 'blue' },
      { ci: { maxRepairs: 50 } },
      { ci: { repairs: true } },
      { updateBranch: 'sometimes' },
      { dashboard: 'yes' },
      { trigger: 'agent' },
      { network: { agent: 'wide-open' } },
      { maintenance: [{ id: 'Bad Id', cron: '* * * * *', prompt: 'x' }] },
      { maintenance: [{ id: 'x', cron: 'daily', prompt: 'x' }] },
    ];
    for (const file of mistakes) {
      expect(validate(file), JSON.stringify(file)).toBe(false);
      expect(parseRepoConfig(JSON.stringify(file)).problems.length, JSON.stringify(file)).toBeGreaterThan(0);
    }
  });
});
