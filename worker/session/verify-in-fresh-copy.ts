import type { Logger } from '../../src/logger.js';
import type { NetworkPolicy, Sandbox, SandboxProvider } from '../sandbox/sandbox.js';
import { checkCancelled } from './check-cancelled.js';
import type { FreshCopy } from './fresh-copy.js';
import { COMMAND_TIMEOUT_MS, type CommandResult, outputTail, runCommand } from './run-command.js';

export interface VerifyInFreshCopyInput {
  sandboxes: SandboxProvider;
  image: string;
  labels: Record<string, string>;
  freshCopy: () => Promise<FreshCopy>;
  /** The change extracted from the agent's tree (the only thing of the agent's that comes along). */
  patch: string;
  setupCommand: string | null;
  verifyCommands: string[];
  network: { setup: NetworkPolicy; agent: NetworkPolicy };
  signal: AbortSignal;
  secrets: string[];
  log: Logger;
  /**
   * Setup's result as the session captured it before the agent ran (issue 17): when
   * given, it is unpacked into the verify container instead of running setup again.
   * It comes from the setup phase only, never from the agent's tree.
   */
  restoreEnvironment?: (box: Sandbox, signal: AbortSignal) => Promise<void>;
}

/**
 * Tracked files back to the base (setup may have rewritten some, and the patch
 * already carries what setup changed in the agent's copy), untracked files that
 * are not ignored removed (the patch re-adds those it kept), ignored ones (what
 * setup installed) kept; then the patch from stdin.
 */
const RESET = 'git reset --quiet --hard && git clean -fdq';
const APPLY = `${RESET} && git apply --binary --whitespace=nowarn -`;

/**
 * Verify the agent cannot fake (issue 14 item 6). The agent's container had a
 * writable HOME, /tmp and ignored folders (a `node_modules/.bin/<tool>` that
 * exits 0); none of that is in the patch, so none of it reaches here: a new
 * working copy of the base commit from the host's cache → the repository's
 * setup in its own container with the setup network, on the BASE tree only
 * (agent-written code such as package scripts never runs with the setup
 * network, which may be wider than the agent's) → a new container with the
 * agent's network (the agent already ran its code there, so verify exposes
 * nothing new, and tests see the network the agent saw), where the container's
 * own git applies the patch and the verify commands run. The host never writes
 * into a tree a container has touched.
 */
export async function verifyInFreshCopy(
  input: VerifyInFreshCopyInput,
): Promise<{ verify: CommandResult[]; blockedHosts: string[] }> {
  const { signal, secrets } = input;
  checkCancelled(signal);
  const copy = await input.freshCopy();
  try {
    const create = (network: NetworkPolicy) =>
      input.sandboxes.create({ image: input.image, network, labels: input.labels }, copy.workDir);
    let box: Sandbox | undefined;
    if (input.restoreEnvironment) {
      box = await create(input.network.agent);
      try {
        await input.restoreEnvironment(box, signal);
      } catch (err) {
        checkCancelled(signal);
        input.log.warn({ err }, 'Restoring the environment for verify failed; running setup instead');
        await box.dispose();
        box = undefined;
      }
    }
    if (!box && input.setupCommand) {
      const setupBox = await create(input.network.setup);
      try {
        const setup = await runCommand(setupBox, input.setupCommand, signal, secrets);
        if (!setup.ok) input.log.warn({ exitCode: setup.exitCode }, 'Setup failed in the verify container');
      } finally {
        await setupBox.dispose();
      }
    }
    checkCancelled(signal);
    box ??= await create(input.network.agent);
    try {
      const hasPatch = input.patch.trim() !== '';
      const applied = await box.exec({
        cmd: hasPatch ? APPLY : RESET,
        stdin: hasPatch ? input.patch : undefined,
        timeoutMs: COMMAND_TIMEOUT_MS,
        signal,
      });
      checkCancelled(signal);
      const verify: CommandResult[] = [];
      if (applied.exitCode !== 0 || applied.timedOut) {
        // Each command is reported failed with the reason, so the result keeps its shape.
        const why = outputTail(
          `The change did not apply in the verify container:\n${applied.stdout}${applied.stderr}`,
          secrets,
        );
        for (const command of input.verifyCommands)
          verify.push({
            command,
            exitCode: null,
            ok: false,
            timedOut: false,
            durationMs: 0,
            outputTail: why,
          });
        input.log.warn({ exitCode: applied.exitCode }, 'The change did not apply in the verify container');
      } else {
        for (const command of input.verifyCommands) {
          checkCancelled(signal);
          verify.push(await runCommand(box, command, signal, secrets));
        }
      }
      const blockedHosts = (await box.blockedConnections()).map((b) => b.host);
      return { verify, blockedHosts };
    } finally {
      await box.dispose();
    }
  } finally {
    await copy.dispose();
  }
}
