export { SAMPLE_SEED } from './sample-seed.js';
export { startGitHubTwin } from './twin.js';
export type * from './types.js';
export type * from './types-ci.js';
export { signBody } from './webhooks.js';
