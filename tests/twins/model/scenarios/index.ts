import type { Scenario } from '../types.js';
import { echoScenario } from './echo.js';
import { fixFailingTestScenario } from './fix-failing-test.js';
import { followThroughScenario } from './follow-through.js';
import { harnessToolsScenario } from './harness-tools.js';
import { heavyTrajectoryScenario } from './heavy-trajectory.js';
import { implementIssueScenario } from './implement-issue.js';
import { longTrajectoryScenario } from './long-trajectory.js';
import { malformedToolInputScenario } from './malformed-tool-input.js';
import { memoryClearingScenario } from './memory-clearing.js';
import { multiFileScenario } from './multi-file.js';
import { neverStopsScenario } from './never-stops.js';
import {
  fixFailingTestThinkingScenario,
  heavyTrajectoryThinkingScenario,
  longTrajectoryThinkingScenario,
  memoryClearingThinkingScenario,
} from './thinking.js';

/** The shipped scenarios by name. */
export const scenarios: Record<string, Scenario> = Object.fromEntries(
  [
    echoScenario,
    fixFailingTestScenario,
    multiFileScenario,
    malformedToolInputScenario,
    neverStopsScenario,
    implementIssueScenario,
    longTrajectoryScenario,
    heavyTrajectoryScenario,
    fixFailingTestThinkingScenario,
    longTrajectoryThinkingScenario,
    heavyTrajectoryThinkingScenario,
    memoryClearingScenario,
    memoryClearingThinkingScenario,
    harnessToolsScenario,
    followThroughScenario,
  ].map((s) => [s.name, s]),
);
