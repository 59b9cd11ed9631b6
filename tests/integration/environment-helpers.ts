import { randomBytes } from 'node:crypto';
import { mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import Docker from 'dockerode';
import { createSilentLogger } from '../../src/logger.js';
import type { AgentResult } from '../../worker/agent/loop/run-agent.js';
import type { EnvironmentService } from '../../worker/environment/environment-service.js';
import { parseSetupSecrets } from '../../worker/environment/setup-secrets.js';
import { SnapshotStore } from '../../worker/environment/snapshot-store.js';
import { DockerSandboxProvider } from '../../worker/sandbox/docker-sandbox-provider.js';
import { createFreshCopier } from '../../worker/session/fresh-copy.js';
import type { AgentSessionInput, SessionWorkspace } from '../../worker/session/run-agent-session.js';
import { extractPatch } from '../../worker/workspace/patch.js';
import type { RepoCache } from '../../worker/workspace/repo-cache.js';
import { createWorkingCopy } from '../../worker/workspace/working-copy.js';
import {
  type LocalRegistry,
  lockProject,
  makeNodeProject,
  REGISTRY_HOST,
} from '../fixtures/registry/local-npm-registry.js';
import { SANDBOX_IMAGE } from '../sandbox/helpers.js';
import { git } from '../workspace/fixtures.js';

export const done = (summary = 'done'): AgentResult => ({
  outcome: 'succeeded',
  summary,
  usage: { input: 1, output: 1, cacheRead: 0, cacheWrite: 0, costUsd: 0 },
  turns: 1,
  durationMs: 1,
  plan: [],
});

/** A provider whose egress proxy may reach the loopback registry (an operator's EGRESS_ALLOW_PRIVATE_RANGES). */
export function registryProvider(): {
  provider: DockerSandboxProvider;
  workerHostId: string;
  docker: Docker;
} {
  const workerHostId = `test-${randomBytes(5).toString('hex')}`;
  const docker = new Docker();
  return {
    provider: new DockerSandboxProvider({
      workerHostId,
      docker,
      egressAllowedRanges: [`${REGISTRY_HOST}/32`],
    }),
    workerHostId,
    docker,
  };
}

/** A Node repository that installs 100+ packages from the registry, as a bare cache. */
export async function makeNodeRepo(
  root: string,
  name: string,
  registry: LocalRegistry,
  token: string,
): Promise<RepoCache> {
  const scratch = join(root, `${name}-scratch`);
  mkdirSync(scratch, { recursive: true });
  git(scratch, ['init', '--quiet']);
  await makeNodeProject(scratch, registry, token);
  git(scratch, ['add', '-A']);
  git(scratch, ['commit', '--quiet', '-m', 'initial']);
  const cache = { dir: join(root, `${name}.git`), remoteUrl: 'file:///nowhere.git' };
  git(root, ['clone', '--bare', '--quiet', scratch, cache.dir]);
  return cache;
}

/** Adds a direct dependency and regenerates the lockfile (as a developer would), committed to the repository. */
export async function addDependency(
  root: string,
  name: string,
  /** The registry the lockfile resolves against (named in the repository's .npmrc). */
  _registry: LocalRegistry,
  token: string,
  dependency: string,
): Promise<void> {
  const scratch = join(root, `${name}-scratch`);
  const pkg = JSON.parse(readFileSync(join(scratch, 'package.json'), 'utf8'));
  pkg.dependencies[dependency] = '^1.0.0';
  writeFileSync(join(scratch, 'package.json'), `${JSON.stringify(pkg, null, 2)}\n`);
  await lockProject(scratch, token);
  commitToRepo(root, name, {});
}

/** Commits a change to the repository (e.g. the lockfile) and updates its cache. */
export function commitToRepo(root: string, name: string, files: Record<string, string>): void {
  const scratch = join(root, `${name}-scratch`);
  for (const [path, text] of Object.entries(files)) writeFileSync(join(scratch, path), text);
  git(scratch, ['add', '-A']);
  git(scratch, ['commit', '--quiet', '-m', 'change']);
  git(join(root, `${name}.git`), ['fetch', '--quiet', scratch, '+main:main']);
}

let runs = 0;
export async function workspaceFor(root: string, cache: RepoCache): Promise<SessionWorkspace> {
  runs += 1;
  const parentDir = join(root, `run-${runs}`);
  const copy = await createWorkingCopy({ cache, ref: 'main', dir: join(parentDir, 'work') });
  return {
    workDir: copy.dir,
    baseSha: copy.baseSha,
    extractPatch: () => extractPatch({ workDir: copy.dir, baseSha: copy.baseSha, cache }),
    freshCopy: createFreshCopier({ cache, baseSha: copy.baseSha, parentDir }),
  };
}

/**
 * A working copy made the way the worker's `prepare` makes it: the empty folder first
 * (`onWorkDir` is called with it, so the agent's container can start on it), then the
 * checkout into that folder.
 */
export async function workspaceInEmptyDir(
  root: string,
  cache: RepoCache,
  onWorkDir: (workDir: string) => void,
  /** An empty folder made earlier (a pooled container mounts it): checked out into, onWorkDir not called. */
  madeWorkDir?: string,
): Promise<SessionWorkspace> {
  runs += 1;
  const parentDir = madeWorkDir ? dirname(madeWorkDir) : join(root, `run-${runs}`);
  const workDir = join(parentDir, 'work');
  if (!madeWorkDir) {
    mkdirSync(workDir, { recursive: true });
    onWorkDir(workDir);
  }
  const copy = await createWorkingCopy({ cache, ref: 'main', dir: workDir });
  return {
    workDir: copy.dir,
    baseSha: copy.baseSha,
    extractPatch: () => extractPatch({ workDir: copy.dir, baseSha: copy.baseSha, cache }),
    freshCopy: createFreshCopier({ cache, baseSha: copy.baseSha, parentDir }),
  };
}

/** Whether a container still exists (removed ones answer 404). */
export function containerExists(docker: Docker, id: string): Promise<boolean> {
  return docker
    .getContainer(id)
    .inspect()
    .then(
      () => true,
      () => false,
    );
}

export function environmentService(options: {
  dir: string;
  secretsYaml?: string;
  maxRepoBytes?: number;
  maxTotalBytes?: number;
  enabled?: boolean;
}): EnvironmentService {
  return {
    store: new SnapshotStore({
      dir: options.dir,
      maxRepoBytes: options.maxRepoBytes ?? 1024 ** 3,
      maxTotalBytes: options.maxTotalBytes ?? 4 * 1024 ** 3,
      maxAgeMs: 7 * 24 * 3_600_000,
      log: createSilentLogger(),
    }),
    snapshotsEnabled: options.enabled ?? true,
    secrets: options.secretsYaml ? parseSetupSecrets(options.secretsYaml) : null,
  };
}

export function sessionInput(
  workspace: SessionWorkspace,
  registry: LocalRegistry,
  extra: Partial<AgentSessionInput> & { repo?: string; installationId?: number } = {},
): AgentSessionInput {
  const { repo = 'acme/widgets', installationId = 7, ...rest } = extra;
  return {
    workspace,
    task: { kind: 'local', text: 'use the dependencies' },
    repoConfig: {
      setupCommand: 'npm ci --no-audit --no-fund --prefer-online',
      verifyCommands: ['node check.js'],
      network: {
        setup: { mode: 'allowlist', hosts: [`${registry.host}:${registry.port}`] },
        agent: { mode: 'none' },
      },
      limits: { maxTurns: 5, maxCostUsd: 1, maxWallMs: 120_000 },
    },
    labels: { 'dev.pullwright.job': 'environment-test' },
    signal: new AbortController().signal,
    log: createSilentLogger(),
    transcriptPath: join(workspace.workDir, '..', 'transcript.jsonl'),
    scope: { installationId, repo, setupCacheKey: [] },
    ...rest,
  };
}

export { SANDBOX_IMAGE };
