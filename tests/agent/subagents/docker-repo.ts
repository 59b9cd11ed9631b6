import { execFileSync } from 'node:child_process';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { Sandbox } from '../../../worker/sandbox/sandbox.js';
import {
  makeWorkspace,
  removeContainersOf,
  removeDir,
  SANDBOX_IMAGE,
  testProvider,
} from '../../sandbox/helpers.js';
import { writeFixFailingTestRepo } from '../../twins/model/index.js';

export interface DockerRepo {
  sandbox: Sandbox;
  /** Host path of the workspace the sandbox mounts. */
  workspace: string;
  /** A private folder outside the workspace, for transcripts. */
  scratch: string;
  dispose(): Promise<void>;
}

/** The sample repo (a git repo, owned by the sandbox user) in a real Docker sandbox without network. */
export async function startDockerRepo(labels: Record<string, string> = {}): Promise<DockerRepo> {
  const { provider, docker, workerHostId } = testProvider();
  const workspace = await makeWorkspace();
  await writeFixFailingTestRepo(workspace);
  execFileSync(
    'bash',
    [
      '-c',
      'git init -q . && git -c safe.directory=* add -A && git -c safe.directory=* -c user.name=t -c user.email=t@t commit -qm base && chown -R 1000:1000 .',
    ],
    {
      cwd: workspace,
    },
  );
  const scratch = await mkdtemp(join(tmpdir(), 'pw-scratch-'));
  const sandbox = await provider.create(
    { image: SANDBOX_IMAGE, labels: { 'dev.pullwright.job': 'tools-test', ...labels } },
    workspace,
  );
  return {
    sandbox,
    workspace,
    scratch,
    async dispose() {
      await sandbox.dispose();
      await removeContainersOf(docker, workerHostId);
      await removeDir(workspace);
      await rm(scratch, { recursive: true, force: true });
    },
  };
}
