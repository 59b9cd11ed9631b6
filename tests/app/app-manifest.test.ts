import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { parse as parseYaml } from 'yaml';
import { createIntakeApp } from '../../src/app/intake-app.js';
import { createSilentLogger } from '../../src/logger.js';
import { Metrics } from '../../src/metrics/metrics.js';

const text = readFileSync(join(import.meta.dirname, '../../app.yml'), 'utf8');
const manifest = parseYaml(text) as { default_events: string[]; default_permissions: Record<string, string> };

/**
 * app.yml is what an installation is asked to grant. A permission added here by
 * accident would be asked of every installation, so the exact set is pinned: a new
 * one needs this test changed on purpose, and its reason written in app.yml.
 */
describe('app.yml', () => {
  it('asks for exactly the permissions Pullwright uses, and no write it does not need', () => {
    expect(manifest.default_permissions).toEqual({
      metadata: 'read',
      contents: 'write',
      issues: 'write',
      pull_requests: 'write',
      checks: 'write',
      actions: 'read',
      statuses: 'read',
    });
    // Re-running jobs and editing workflows stay an operator's explicit opt-in.
    expect(manifest.default_permissions.actions).not.toBe('write');
    expect(manifest.default_permissions.workflows).toBeUndefined();
    expect(manifest.default_permissions.administration).toBeUndefined();
  });

  it('explains every permission and every event in a comment on its line', () => {
    const lines = text.split('\n');
    for (const name of [...Object.keys(manifest.default_permissions), ...manifest.default_events]) {
      const line = lines.find((l) => new RegExp(`^\\s*(- )?${name}(:|\\s|$)`).test(l));
      expect(line, name).toMatch(/#\s*\S/);
    }
  });

  it('subscribes to the CI result events, and the app handles every event it subscribes to', () => {
    expect(manifest.default_events).toEqual(
      expect.arrayContaining(['check_suite', 'workflow_run', 'status']),
    );
    const intake = createIntakeApp({
      settings: {
        appSlug: 'pullwright',
        botLogin: 'pullwright[bot]',
        triggerPhrase: '@agent',
        reviewQuietMs: 0,
        caps: { MAX_NETWORK: 'none', ALLOW_WORKFLOW_EDITS: false },
      },
      redis: {} as never,
      taskQueue: { prefix: 'unused' } as never,
      metrics: new Metrics(),
      log: createSilentLogger(),
      maintenanceCaps: {} as never,
      github: {} as never,
    });
    const handled = new Set(intake.handledEvents());
    for (const event of manifest.default_events) expect(handled, event).toContain(event);
  });
});
