import { z } from 'zod';
import { MaintenanceTaskConfig, REPO_CONFIG_PATH, RepoConfig } from './repo-config.js';

/**
 * The JSON Schema of `.github/pullwright.yml`, generated from the same zod schema the
 * parser uses (zod 4's `z.toJSONSchema`), so editors validate and complete the file
 * exactly as Pullwright reads it. Kept in the repository at `schema/pullwright.schema.json`
 * (`npm run schema:config` regenerates it; tests/repo-config/json-schema.test.ts fails when
 * it drifts). It describes what a person writes (`io: 'input'`): defaults are optional,
 * and `network.setup: none` is allowed as well as its object form.
 */
export const REPO_CONFIG_SCHEMA_PATH = 'schema/pullwright.schema.json';
export const REPO_CONFIG_SCHEMA_URL =
  'https://raw.githubusercontent.com/pullwright/pullwright/main/schema/pullwright.schema.json';

/**
 * The whole file: every section plus `maintenance` (which the parser reads task by task, so a
 * bad task skips only itself). Strict at the top level: the parser reports an unknown
 * top-level key as a problem, and an editor should flag the same typo.
 */
export const RepoConfigFile = z.strictObject({
  ...RepoConfig.shape,
  maintenance: z.array(MaintenanceTaskConfig).max(50).default([]),
});

type JsonSchema = { properties?: Record<string, JsonSchema>; items?: JsonSchema; [key: string]: unknown };

/**
 * Each documented key's meaning and default, from docs/configuration.md's tables
 * (`| \`key\` | type | default | meaning |`): the page is the one place a setting is
 * explained, and editors show the same words on hover. Maintenance task keys come back
 * as `maintenance.<key>`.
 */
export function documentedSettings(markdown: string): Map<string, string> {
  const [settings = '', rest = ''] = markdown.split('### Maintenance tasks');
  const [maintenance = ''] = rest.split('\n## ');
  const found = new Map<string, string>();
  const rows = (section: string, prefix: string) => {
    for (const m of section.matchAll(/^\| `([\w.]+)` \| (.*?) \| (.*?) \| (.*) \|$/gm)) {
      const [, key = '', , def = '', meaning = ''] = m;
      found.set(`${prefix}${key}`, `${meaning.trim()} Default: ${def.trim()}.`);
    }
  };
  rows(settings, '');
  rows(maintenance, 'maintenance.');
  return found;
}

function describeProperties(schema: JsonSchema, docs: Map<string, string>): void {
  for (const [key, property] of Object.entries(schema.properties ?? {})) {
    const text = docs.get(key);
    if (text !== undefined) property.markdownDescription = text;
    if (text !== undefined) property.description = text.replace(/[`*]/g, '');
    for (const [inner, innerSchema] of Object.entries(property.properties ?? {})) {
      const innerText = docs.get(`${key}.${inner}`);
      if (innerText === undefined) continue;
      innerSchema.markdownDescription = innerText;
      innerSchema.description = innerText.replace(/[`*]/g, '');
    }
  }
  const task = schema.properties?.maintenance?.items;
  for (const [key, property] of Object.entries(task?.properties ?? {})) {
    const text = docs.get(`maintenance.${key}`);
    if (text === undefined) continue;
    property.markdownDescription = text;
    property.description = text.replace(/[`*]/g, '');
  }
}

/** `docsMarkdown`: docs/configuration.md, whose tables describe each key (hover text in editors). */
export function repoConfigJsonSchema(docsMarkdown = ''): Record<string, unknown> {
  const generated = z.toJSONSchema(RepoConfigFile, {
    io: 'input',
    target: 'draft-2020-12',
    // Refinements (a valid IANA time zone, a plain ref prefix) stay the parser's to check.
    unrepresentable: 'any',
  }) as Record<string, unknown>;
  const { $schema, ...rest } = generated;
  describeProperties(rest as JsonSchema, documentedSettings(docsMarkdown));
  return {
    $schema,
    $id: REPO_CONFIG_SCHEMA_URL,
    title: 'Pullwright repository configuration',
    description: `${REPO_CONFIG_PATH}: what a repository asks of Pullwright, read from the default branch only. Every setting is optional; the operator's limits cap what it may ask. See docs/configuration.md.`,
    ...rest,
  };
}

/** The file's text as committed: stable key order, two-space indent, trailing newline. */
export function repoConfigJsonSchemaText(docsMarkdown: string): string {
  return `${JSON.stringify(repoConfigJsonSchema(docsMarkdown), null, 2)}\n`;
}
