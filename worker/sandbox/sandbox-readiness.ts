import Docker from 'dockerode';
import { PullwrightError } from '../../src/errors.js';
import { createSilentLogger, type Logger } from '../../src/logger.js';

export interface SandboxReadinessInput {
  /** The sandbox image that must be present on the engine (config SANDBOX_IMAGE). */
  image: string;
  log?: Logger;
  /** Defaults to the engine named by DOCKER_HOST or the local socket. */
  docker?: Docker;
}

/**
 * Resolves when the Docker engine answers and the sandbox image is present; else
 * throws a non-retryable `sandbox_failed` whose message says what to do. Callers
 * (the CLI, before any work) run it so a missing engine or image is reported in
 * one plain sentence instead of as a failure deep inside a run.
 */
export async function checkSandboxReadiness(input: SandboxReadinessInput): Promise<void> {
  const log = input.log ?? createSilentLogger();
  const docker = input.docker ?? new Docker();
  try {
    await docker.ping();
  } catch (err) {
    log.debug({ err }, 'Docker engine did not answer');
    throw new PullwrightError(
      'sandbox_failed',
      'Docker is not reachable. Start the Docker engine (and build the sandbox image: bash scripts/services.sh up).',
      { retryable: false, cause: err },
    );
  }
  try {
    await docker.getImage(input.image).inspect();
  } catch (err) {
    log.debug({ err, image: input.image }, 'Sandbox image not found');
    throw new PullwrightError(
      'sandbox_failed',
      `The sandbox image ${input.image} is not present. Build it with: bash scripts/services.sh up (or set SANDBOX_IMAGE).`,
      { retryable: false, cause: err },
    );
  }
}
