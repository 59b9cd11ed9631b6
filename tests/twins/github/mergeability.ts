import { mergesCleanly } from './git-ci.js';
import { combined } from './records-ci.js';
import type { PullRec, RepoRec } from './state.js';
import type { TwinCore } from './twin-core.js';

/**
 * `mergeable` and `mergeable_state` as GitHub computes them: in the background, after the head or the
 * base moved, with a real three-way merge of the two commits (`git merge-tree`). Until that is done the
 * pull request reads `mergeable: null`, `mergeable_state: 'unknown'`, so clients have to poll as they do
 * on GitHub; the computation takes milliseconds here, so the next read has it.
 */
export class Mergeability {
  private readonly known = new Map<string, boolean>();
  private readonly running = new Map<string, Promise<void>>();

  constructor(private readonly core: TwinCore) {}

  private key(repo: RepoRec, p: PullRec): string {
    return `${repo.id}:${p.baseSha}:${p.headSha}`;
  }

  /** What a read answers now; starts the computation when the pair of commits is new. */
  read(repo: RepoRec, p: PullRec, open: boolean): { mergeable: boolean | null; mergeableState: string } {
    if (!open) return { mergeable: null, mergeableState: 'unknown' };
    const key = this.key(repo, p);
    const clean = this.known.get(key);
    if (clean === undefined) {
      this.start(repo, p, key);
      return { mergeable: null, mergeableState: 'unknown' };
    }
    if (!clean) return { mergeable: false, mergeableState: 'dirty' };
    if (p.draft) return { mergeable: true, mergeableState: 'draft' };
    return { mergeable: true, mergeableState: this.failing(repo, p.headSha) ? 'unstable' : 'clean' };
  }

  /** Resolves when the computation for the pull request's current commits is done (tests). */
  async settle(repo: RepoRec, p: PullRec): Promise<void> {
    const key = this.key(repo, p);
    if (!this.known.has(key)) this.start(repo, p, key);
    await this.running.get(key);
  }

  private start(repo: RepoRec, p: PullRec, key: string): void {
    if (this.running.has(key)) return;
    const { baseSha, headSha } = p;
    const job = mergesCleanly(repo.gitDir, baseSha, headSha)
      .then((clean) => {
        this.known.set(key, clean);
      })
      .catch(() => {
        // A head or base that is gone: stays unknown, as GitHub leaves it.
      })
      .finally(() => this.running.delete(key));
    this.running.set(key, job);
  }

  /** A failing or pending check or status on the head: GitHub's `unstable` (not required checks). */
  private failing(repo: RepoRec, sha: string): boolean {
    const runs = [...this.core.state.ci.checkRuns.values()].filter(
      (r) => r.repoId === repo.id && r.headSha === sha,
    );
    const latest = new Map(runs.map((r) => [r.name, r]));
    const bad = [...latest.values()].some(
      (r) => r.status !== 'completed' || !['success', 'neutral', 'skipped'].includes(r.conclusion ?? ''),
    );
    return bad || combined(this.core, repo, sha).statuses.some((s) => s.state !== 'success');
  }
}
