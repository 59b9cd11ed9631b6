import type Docker from 'dockerode';
import { describe, expect, it } from 'vitest';
import { PullwrightError } from '../../src/errors.js';
import { checkSandboxReadiness } from '../../worker/sandbox/sandbox-readiness.js';

/** A stand-in engine: readiness only pings and inspects one image. */
function fakeDocker(opts: { ping: boolean; images: string[] }): Docker {
  return {
    ping: async () => {
      if (!opts.ping) throw new Error('connect ENOENT /var/run/docker.sock');
      return 'OK';
    },
    getImage: (name: string) => ({
      inspect: async () => {
        if (!opts.images.includes(name)) throw Object.assign(new Error('no such image'), { statusCode: 404 });
        return { Id: 'sha256:1' };
      },
    }),
  } as unknown as Docker;
}

describe('checkSandboxReadiness', () => {
  it('resolves when the engine answers and the image exists', async () => {
    await expect(
      checkSandboxReadiness({ image: 'img:1', docker: fakeDocker({ ping: true, images: ['img:1'] }) }),
    ).resolves.toBeUndefined();
  });

  it('says to start Docker when the engine does not answer', async () => {
    const err = await checkSandboxReadiness({
      image: 'img:1',
      docker: fakeDocker({ ping: false, images: ['img:1'] }),
    }).catch((e: unknown) => e);
    expect(err).toBeInstanceOf(PullwrightError);
    expect(err).toMatchObject({ code: 'sandbox_failed', retryable: false });
    expect((err as Error).message).toMatch(/Docker is not reachable\. Start the Docker engine/);
  });

  it('says how to build the image when it is missing', async () => {
    const err = await checkSandboxReadiness({
      image: 'img:2',
      docker: fakeDocker({ ping: true, images: ['img:1'] }),
    }).catch((e: unknown) => e);
    expect(err).toMatchObject({ code: 'sandbox_failed', retryable: false });
    expect((err as Error).message).toMatch(/sandbox image img:2 is not present\. Build it with/);
  });
});
