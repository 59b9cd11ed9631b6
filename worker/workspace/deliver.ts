/**
 * Moved to worker/delivery/git-delivery.ts (only delivery commits and pushes).
 * Kept as a re-export until `pullwright run` imports the new path; then delete it.
 */
export * from '../delivery/git-delivery.js';
