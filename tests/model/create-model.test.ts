import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { parseConfig } from '../../src/config/env.js';
import { createSilentLogger } from '../../src/logger.js';
import { createModelFromConfig } from '../../worker/model/create-model.js';
import { type ModelTwin, startModelTwin } from '../twins/model/index.js';

describe('createModelFromConfig', () => {
  let twin: ModelTwin;
  beforeEach(async () => {
    twin = await startModelTwin({ scenario: 'echo' });
  });
  afterEach(async () => {
    await twin.close();
  });

  it('builds the adapter from the environment: key, base URL, model and output cap', async () => {
    const config = parseConfig('cli', {
      ANTHROPIC_API_KEY: twin.apiKey,
      ANTHROPIC_BASE_URL: twin.url,
      PULLWRIGHT_MODEL: 'claude-sonnet-5-5',
      MAX_OUTPUT_TOKENS: '2048',
    });
    const model = createModelFromConfig(config, createSilentLogger(), {
      defaultHeaders: { 'x-test': 'yes' },
    });
    expect(model.name).toBe('claude-sonnet-5-5');
    const res = await model.complete({
      system: [{ type: 'text', text: 'You are a test.' }],
      tools: [],
      messages: [{ role: 'user', content: [{ type: 'text', text: 'hi' }] }],
    });
    expect(res.content).toEqual([{ type: 'text', text: 'twin echo: hi' }]);
    expect(twin.requests[0]?.body).toMatchObject({ model: 'claude-sonnet-5-5', max_tokens: 2048 });
    expect(twin.requests[0]?.headers['x-test']).toBe('yes');
  });
});
