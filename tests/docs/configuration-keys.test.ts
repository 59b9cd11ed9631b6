import { readFileSync } from 'node:fs';
import { join, resolve } from 'node:path';
import { describe, expect, it } from 'vitest';
import type { z } from 'zod';
import { MaintenanceTaskConfig, parseRepoConfig, RepoConfig } from '../../src/repo-config/repo-config.js';

/**
 * docs/configuration.md is the contract a repository's owner writes `.github/pullwright.yml`
 * against; a key the parser knows but the page does not (or the reverse) is a setting nobody can
 * find, or one that silently does nothing.
 */

const ROOT = resolve(import.meta.dirname, '../..');
const markdown = readFileSync(join(ROOT, 'docs/configuration.md'), 'utf8');

/** The first cell of each table row, unquoted: the documented keys. */
function tableKeys(section: string): string[] {
  return [...section.matchAll(/^\| `([\w.]+)` \|/gm)].map((m) => m[1] ?? '');
}

function unwrap(schema: z.ZodType): z.ZodType {
  let s = schema as z.ZodType & { _zod: { def: { innerType?: z.ZodType } } };
  while (s._zod.def.innerType) s = s._zod.def.innerType as typeof s;
  return s;
}

/** The parser's keys, nested objects as `section.key`. */
function schemaKeys(): string[] {
  return Object.entries(RepoConfig.shape).flatMap(([key, schema]) => {
    const inner = unwrap(schema as z.ZodType) as z.ZodType & { shape?: Record<string, unknown> };
    return inner.shape ? Object.keys(inner.shape).map((k) => `${key}.${k}`) : [key];
  });
}

describe('docs/configuration.md', () => {
  const [settings = '', rest = ''] = markdown.split('### Maintenance tasks');
  const [maintenance = ''] = rest.split('## What the operator caps');

  it('documents every setting the parser knows, and no other', () => {
    expect(tableKeys(settings).sort()).toEqual([...schemaKeys(), 'maintenance'].sort());
  });

  it('documents every maintenance task key, and no other', () => {
    expect(tableKeys(maintenance).sort()).toEqual(Object.keys(MaintenanceTaskConfig.shape).sort());
  });

  it('shows an example the parser accepts without a problem', () => {
    const example = markdown.match(/```yaml\n([\s\S]*?)```/)?.[1];
    expect(example).toBeDefined();
    const parsed = parseRepoConfig(example ?? '');
    expect(parsed.problems).toEqual([]);
    expect(parsed.config.maintenance.map((t) => t.id)).toEqual(['deps']);
  });
});
