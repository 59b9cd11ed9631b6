import { describe, expect, it } from 'vitest';
import { PullwrightError } from '../../src/errors.js';
import { ensurePullRequest } from '../../worker/delivery/ensure-pull-request.js';
import { coAuthorTrailer, pushChange } from '../../worker/delivery/push-change.js';
import { FakeGitHub } from '../flows/fakes.js';

const input = { branch: 'b', base: 'main', title: 'T', body: 'one', draft: false, labels: ['pullwright'] };

describe('ensurePullRequest', () => {
  it('opens one PR with the labels, then updates it instead of opening another', async () => {
    const gh = new FakeGitHub();
    const first = await ensurePullRequest(gh, input);
    expect(first.created).toBe(true);
    expect(gh.pulls[0]?.labels).toEqual(['pullwright']);
    const second = await ensurePullRequest(gh, { ...input, body: 'two' });
    expect(second).toMatchObject({ created: false, pull: { number: first.pull.number, body: 'two' } });
    expect(gh.pulls).toHaveLength(1);
  });

  it('adopts the PR a racing attempt opened between the lookup and the create', async () => {
    const gh = new FakeGitHub();
    const list = gh.listPullsByHead.bind(gh);
    let calls = 0;
    gh.listPullsByHead = async (branch, state) => {
      calls += 1;
      if (calls === 1) {
        await gh.createPull({ title: 'raced', body: 'x', head: branch, base: 'main', draft: false });
        return [];
      }
      return list(branch, state);
    };
    const result = await ensurePullRequest(gh, input);
    expect(result).toMatchObject({ created: false, pull: { title: 'raced', body: 'one' } });
    expect(gh.pulls).toHaveLength(1);
  });
});

describe('pushChange', () => {
  const base = {
    repo: { owner: 'o', name: 'r' },
    token: 't',
    baseSha: 'a'.repeat(40),
    branch: 'pullwright/x',
    patch: 'diff',
    message: 'Subject',
    author: { name: 'bot', email: 'bot@x' },
    requester: { actor: 'alice', actorId: 42, source: 'assignment' as const },
  };

  it('credits the requester with a Co-authored-by trailer', async () => {
    let message = '';
    const sha = await pushChange(
      {
        commitAndPush: async (i) => {
          message = i.message;
          return { commitSha: 'c'.repeat(40) };
        },
      },
      base,
    );
    expect(sha).toBe('c'.repeat(40));
    expect(message).toBe('Subject\n\nCo-authored-by: alice <42+alice@users.noreply.github.com>\n');
    expect(coAuthorTrailer({ actor: 'bob' })).toBe('Co-authored-by: bob <bob@users.noreply.github.com>');
  });

  it('says a person pushed meanwhile instead of overwriting, and does not retry', async () => {
    const rejected = pushChange(
      {
        commitAndPush: async () => {
          throw new PullwrightError('conflict', 'non-fast-forward');
        },
      },
      base,
    );
    await expect(rejected).rejects.toMatchObject({ code: 'conflict', retryable: false });
    await expect(rejected).rejects.toThrow(/Someone pushed to `pullwright\/x`/);
  });
});
