import type { TargetTask, Task } from '../../../src/domain/task.js';
import type { FlowContext } from '../flow-context.js';
import { addressReviewMode } from './address-review-mode.js';
import { implementMode } from './implement-mode.js';
import { maintenanceMode } from './maintenance-mode.js';
import type { Mode, ModeOutcome, ModePlan } from './mode.js';
import { repairCiMode } from './repair-ci-mode.js';
import { reviseMode } from './revise-mode.js';
import { updateBranchMode } from './update-branch-mode.js';

/** Every task kind's mode. A new kind is one file and one line here. */
const TARGET_MODES: Record<TargetTask['kind'], Mode<TargetTask>> = {
  implement: implementMode,
  'address-review': addressReviewMode,
  revise: reviseMode,
  'repair-ci': repairCiMode,
  'update-branch': updateBranchMode,
};

export function trackingTitleOf(task: Task): string | null {
  return task.kind === 'maintenance'
    ? maintenanceMode.trackingTitle(task)
    : TARGET_MODES[task.kind].trackingTitle(task);
}

/** Runs the task's mode up to its plan (narrowed by `kind`, so no mode sees another's task shape). */
export function planMode(ctx: FlowContext): Promise<ModePlan | ModeOutcome> {
  const { task } = ctx;
  if (task.kind === 'maintenance') return maintenanceMode.plan({ ...ctx, task });
  return TARGET_MODES[task.kind].plan({ ...ctx, task });
}
