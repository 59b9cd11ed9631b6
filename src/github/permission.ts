/** A user's role on a repository, as GitHub names it (`role_name`). */
export type Permission = 'admin' | 'maintain' | 'write' | 'triage' | 'read' | 'none';

const KNOWN: ReadonlySet<string> = new Set<Permission>([
  'admin',
  'maintain',
  'write',
  'triage',
  'read',
  'none',
]);

/**
 * Only people who could push the change themselves may ask the agent for it:
 * otherwise any passer-by on a public repo could spend the operator's model
 * budget and get code pushed under the app's name. The app checks this at
 * intake and the worker again before a job starts.
 */
const WRITE_ACCESS: ReadonlySet<Permission> = new Set<Permission>(['admin', 'maintain', 'write']);

export function hasWriteAccess(permission: Permission): boolean {
  return WRITE_ACCESS.has(permission);
}

/**
 * The role from GitHub's "get repository permissions for a user" answer.
 * `permission` folds maintain into write and triage into read; `role_name`
 * keeps them. Anything GitHub may add later counts as no access.
 */
export function toPermission(data: { permission: string; role_name?: string }): Permission {
  if (data.role_name !== undefined && KNOWN.has(data.role_name)) return data.role_name as Permission;
  return KNOWN.has(data.permission) ? (data.permission as Permission) : 'none';
}
