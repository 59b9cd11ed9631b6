import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { type PagesHarness, recordDemoRun, signIn, startPagesHarness } from '../runs/pages-harness.js';
import { saveScreenshot, visibleText, withPage } from './chromium.js';

/**
 * The run pages in Debian's Chromium: sign in through the GitHub twin's OAuth
 * pages, read a finished run, watch one live, be refused, and stop one.
 */
let h: PagesHarness;

beforeAll(async () => {
  h = await startPagesHarness();
});
afterAll(async () => {
  await h?.close();
});

describe('run pages in a real browser', () => {
  it('signs in with GitHub (the twin) and shows a finished run: plan, steps, diff', async () => {
    const recorder = h.recorder();
    await recordDemoRun(recorder);
    await withPage(
      async (page) => {
        const url = `${h.app.url}/runs/${recorder.runId}`;
        await signIn(page, url, 'bob', h.tokens.bob);
        expect(page.url()).toBe(url);
        const text = await visibleText(page);
        expect(text).toContain('Add a greeting function');
        expect(text).toContain('succeeded');
        expect(text).toContain('Add src/greet.ts with greet()');
        expect(text).toContain('$ npm test');
        expect(text).toContain('Delivered change');
        expect(text).toContain('Hello, ${name}!');
        expect(await page.$$eval('ul.plan input:checked', (els) => els.length)).toBe(3);
        expect(await page.$$eval('pre.diff .add', (els) => els.length)).toBeGreaterThan(2);
        // A reader sees no Stop button (and this run is finished anyway).
        expect(await page.$('#stop')).toBeNull();
        await saveScreenshot(page, 'run-page');
        // The repository's runs page lists it with the month's totals.
        await page.goto(`${h.app.url}/repos/acme/widgets/runs`);
        const list = await visibleText(page);
        expect(list).toContain('Add a greeting function');
        expect(list).toMatch(/Cost this month \$0\.04/);
        expect(list).toContain('of $25.00');
      },
      { width: 1100, height: 1400 },
    );
  });
});
