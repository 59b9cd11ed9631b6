import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { DEMO_ISSUE, type LocalStack } from '../../scripts/local-stack.js';
import { stack, trackingComment, waitFor } from '../e2e/e2e-helpers.js';
import { twinSignInCookie } from '../twins/github/twin-web.js';
import { saveScreenshot, visibleText, withPage } from './chromium.js';

/**
 * The demo run for real (GitHub twin, model twin, app, Redis, worker, Docker, git): the
 * tracking comment links the run page, and a person who signs in with GitHub reads the
 * run there: the task, the plan, the steps, the verification and the delivered diff.
 */
describe('the demo run on its run page', { timeout: 420_000 }, () => {
  let s: LocalStack;
  beforeAll(async () => {
    s = await stack({ scenario: 'implement-issue' });
  });
  afterAll(async () => {
    await s?.close();
  });

  it('links the run from the tracking comment and shows it to a signed-in reader', async () => {
    const { github, repo } = s;
    github.seed.user({ login: 'rita' });
    github.seed.collaborator(repo, 'rita', 'read');
    const { number } = github.seed.issue({
      repo,
      title: DEMO_ISSUE.title,
      body: DEMO_ISSUE.body,
      author: 'alice',
    });
    await github.actions.assignIssue({ repo, number, assignee: github.app.botLogin, sender: 'alice' });
    const done = await waitFor('a finished tracking comment', () => {
      const c = trackingComment(s, number);
      return c && /Done|Failed|refused|without changes/.test(c.body) ? c : null;
    });
    expect(done.body).toContain('✅ Done');
    const url = /\[Run log\]\((http[^)\s]+)\)/.exec(done.body)?.[1];
    expect(url).toMatch(new RegExp(`^${s.app.url.replace(/[.]/g, '\\.')}/runs/r_[\\w-]+$`));
    const pull = github.inspect.pulls(repo)[0];

    await withPage(
      async (page) => {
        // Signed in on the twin already (its session cookie); the app still goes through authorize + consent.
        await page.setCookie(twinSignInCookie(github.url, 'rita'));
        await page.goto(url as string, { waitUntil: 'domcontentloaded' });
        if (await page.$('#js-oauth-authorize-btn'))
          await Promise.all([
            page.waitForNavigation({ waitUntil: 'domcontentloaded' }),
            page.click('#js-oauth-authorize-btn'),
          ]);
        expect(page.url()).toBe(url);
        const text = await visibleText(page);
        expect(text).toContain(DEMO_ISSUE.title);
        expect(text).toContain('succeeded');
        expect(text).toContain('Asked by alice');
        expect(text).toMatch(/Model turn 1/);
        expect(text).toContain('$ npm test');
        expect(text).toContain('Delivered change');
        expect(text).toMatch(/\+\s*return a \+ b;/);
        expect(await page.$$eval('ul.plan li', (els) => els.length)).toBeGreaterThan(0);
        if (pull) expect(await page.$(`a[href$="/pull/${pull.number}"]`)).not.toBeNull();
        // A reader has no Stop (and the run is over).
        expect(await page.$('#stop')).toBeNull();
        await saveScreenshot(page, 'run-page-demo');
        await page.goto(`${s.app.url}/repos/${repo}/runs`);
        expect(await visibleText(page)).toContain(DEMO_ISSUE.title);
      },
      { width: 1100, height: 1400 },
    );
  });
});
