export { startGitHubTwin } from './twin.js';
export type * from './types.js';
export { signBody } from './webhooks.js';
