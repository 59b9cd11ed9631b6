export {
  checkNetworkHost,
  checkShellCommand,
  checkToolName,
  checkWritePath,
  type Decision,
  denialMessage,
  deniedPaths,
} from './check-permission.js';
export { guardTools } from './guard-tools.js';
export { narrowNetworkPolicy } from './narrow-network-policy.js';
export { parseShellCommand } from './parse-shell-command.js';
export {
  describeToolPolicy,
  EMPTY_RULES,
  loadToolPolicyFile,
  OPEN_POLICY,
  PermissionRules,
  parseToolPolicy,
  resolveToolPolicy,
  type ToolPolicy,
} from './tool-policy.js';
