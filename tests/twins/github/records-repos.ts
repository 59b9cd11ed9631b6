import { join } from 'node:path';
import { PullwrightError } from '../../../src/errors.js';
import { commitFiles, fetchRefs, initBareRepo, listBranches } from './git.js';
import { nowIso } from './http.js';
import { DEFAULT_PERMISSIONS, type InstallationRec, type RepoRec } from './state.js';
import type { TwinCore } from './twin-core.js';
import type { AccessLevel, SeededRepo, SeedRepoInput } from './types.js';

/** Creating repositories (with their bare git dirs), forks and installations. */

function gitDirFor(core: TwinCore, owner: string, name: string): string {
  return join(core.config.reposRoot, owner.toLowerCase(), `${name.toLowerCase()}.git`);
}

function assertFree(core: TwinCore, fullName: string): void {
  // Also a fork still being made (which findRepo does not show yet).
  if (core.state.repos.has(fullName.toLowerCase()))
    throw new PullwrightError('conflict', `Repo ${fullName} already exists`);
}

export async function seedRepo(core: TwinCore, input: SeedRepoInput): Promise<SeededRepo> {
  core.ensureUser(input.owner);
  const fullName = `${input.owner}/${input.name}`;
  assertFree(core, fullName);
  if (!/^[A-Za-z0-9_.-]+$/.test(input.name) || !/^[A-Za-z0-9-]+$/.test(input.owner)) {
    throw new PullwrightError('input_invalid', `Invalid repo name ${fullName}`);
  }
  const defaultBranch = input.defaultBranch ?? 'main';
  const gitDir = gitDirFor(core, input.owner, input.name);
  await initBareRepo(gitDir, defaultBranch);
  const files = input.files ?? { 'README.md': `# ${input.name}\n` };
  const headSha = await commitFiles(gitDir, {
    branch: defaultBranch,
    parent: null,
    files,
    message: 'Initial commit',
    author: { name: input.owner, email: `${input.owner}@users.noreply.twin` },
  });
  const repo = addRepo(core, {
    owner: input.owner,
    name: input.name,
    private: input.private ?? false,
    description: input.description ?? null,
    defaultBranch,
    gitDir,
    forkOf: null,
  });
  return { id: repo.id, fullName, defaultBranch, headSha };
}

/**
 * Copies a repository with its branches (or only its default branch) into another account, as a fork.
 * `readyAt` keeps it invisible until then, like GitHub's asynchronous fork after its 202.
 */
export async function forkRepo(
  core: TwinCore,
  input: { repo: string; owner: string; name?: string; defaultBranchOnly?: boolean; readyAt?: number },
): Promise<SeededRepo> {
  const parent = core.mustRepo(input.repo);
  core.ensureUser(input.owner);
  const name = input.name ?? parent.name;
  const fullName = `${input.owner}/${name}`;
  assertFree(core, fullName);
  const gitDir = gitDirFor(core, input.owner, name);
  await initBareRepo(gitDir, parent.defaultBranch);
  const refs = input.defaultBranchOnly
    ? [`+refs/heads/${parent.defaultBranch}:refs/heads/${parent.defaultBranch}`]
    : ['+refs/heads/*:refs/heads/*'];
  await fetchRefs(gitDir, parent.gitDir, refs);
  const repo = addRepo(core, {
    owner: input.owner,
    name,
    private: parent.private,
    description: parent.description,
    defaultBranch: parent.defaultBranch,
    gitDir,
    forkOf: parent.id,
  });
  if (input.readyAt !== undefined) repo.readyAt = input.readyAt;
  const headSha = (await listBranches(gitDir))[repo.defaultBranch] ?? '';
  return { id: repo.id, fullName, defaultBranch: repo.defaultBranch, headSha };
}

/** The fork of `parent` that `owner` already has (ready or still being made), if any. */
export function findForkIn(core: TwinCore, parent: RepoRec, owner: string): RepoRec | undefined {
  for (const r of core.state.repos.values()) {
    if (r.forkOf === parent.id && r.owner.toLowerCase() === owner.toLowerCase()) return r;
  }
  return undefined;
}

/** A free repository name in `owner`'s account: `name`, else `name-1`, `name-2`… as GitHub renames forks. */
export function freeRepoName(core: TwinCore, owner: string, name: string): string {
  let candidate = name;
  for (let n = 1; core.state.repos.has(`${owner}/${candidate}`.toLowerCase()); n++)
    candidate = `${name}-${n}`;
  return candidate;
}

/** Records a repository whose git dir is ready: a fresh id, no collaborators, labels or issues yet. */
function addRepo(
  core: TwinCore,
  input: Pick<RepoRec, 'owner' | 'name' | 'private' | 'description' | 'defaultBranch' | 'gitDir' | 'forkOf'>,
): RepoRec {
  const at = nowIso();
  const repo: RepoRec = {
    ...input,
    id: core.state.id(),
    fullName: `${input.owner}/${input.name}`,
    createdAt: at,
    pushedAt: at,
    collaborators: new Map(),
    labels: new Map(),
    nextNumber: 1,
  };
  core.state.repos.set(repo.fullName.toLowerCase(), repo);
  return repo;
}

export function seedInstallation(
  core: TwinCore,
  input: { account: string; repos?: string[]; permissions?: Record<string, AccessLevel> },
): InstallationRec {
  core.ensureUser(input.account);
  for (const inst of core.state.installations.values()) {
    if (inst.account.toLowerCase() === input.account.toLowerCase()) {
      throw new PullwrightError('conflict', `The app is already installed on ${input.account}`);
    }
  }
  const inst: InstallationRec = {
    id: core.state.nextInstallationId++,
    account: input.account,
    repos: input.repos ? new Set(input.repos.map((r) => r.toLowerCase())) : 'all',
    permissions: { ...(input.permissions ?? DEFAULT_PERMISSIONS) },
    createdAt: nowIso(),
  };
  core.state.installations.set(inst.id, inst);
  return inst;
}
