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
  if (core.state.findRepo(fullName)) throw new PullwrightError('conflict', `Repo ${fullName} already exists`);
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

/** Copies a repository with its branches into another account, as a fork. */
export async function forkRepo(core: TwinCore, input: { repo: string; owner: string }): Promise<SeededRepo> {
  const parent = core.mustRepo(input.repo);
  core.ensureUser(input.owner);
  const fullName = `${input.owner}/${parent.name}`;
  assertFree(core, fullName);
  const gitDir = gitDirFor(core, input.owner, parent.name);
  await initBareRepo(gitDir, parent.defaultBranch);
  await fetchRefs(gitDir, parent.gitDir, ['+refs/heads/*:refs/heads/*']);
  const repo = addRepo(core, {
    owner: input.owner,
    name: parent.name,
    private: parent.private,
    description: parent.description,
    defaultBranch: parent.defaultBranch,
    gitDir,
    forkOf: parent.id,
  });
  const headSha = (await listBranches(gitDir))[repo.defaultBranch] ?? '';
  return { id: repo.id, fullName, defaultBranch: repo.defaultBranch, headSha };
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
