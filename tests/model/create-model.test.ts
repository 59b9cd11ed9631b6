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

  it('passes the thinking settings: effort with adaptive thinking, budget with the budgeted form', async () => {
    const env = { ANTHROPIC_API_KEY: twin.apiKey, ANTHROPIC_BASE_URL: twin.url };
    const request = {
      system: [],
      tools: [],
      messages: [{ role: 'user' as const, content: [{ type: 'text' as const, text: 'hi' }] }],
    };
    await createModelFromConfig(
      parseConfig('cli', { ...env, PULLWRIGHT_EFFORT: 'medium' }),
      createSilentLogger(),
    ).complete(request);
    expect(twin.requests[0]?.body).toMatchObject({
      thinking: { type: 'adaptive' },
      output_config: { effort: 'medium' },
    });
    const budgeted = parseConfig('cli', {
      ...env,
      PULLWRIGHT_THINKING: 'budgeted',
      PULLWRIGHT_THINKING_BUDGET: '4096',
    });
    await createModelFromConfig(budgeted, createSilentLogger()).complete(request);
    expect(twin.requests[1]?.body).toMatchObject({ thinking: { type: 'enabled', budget_tokens: 4096 } });
    const off = parseConfig('cli', { ...env, PULLWRIGHT_MODEL: 'claude-opus-5', PULLWRIGHT_THINKING: 'off' });
    await createModelFromConfig(off, createSilentLogger()).complete(request);
    expect(twin.requests[2]?.body).toMatchObject({ thinking: { type: 'disabled' } });
  });
});
