// Every command's CLI definition. Each defines its flags and help, and lazy-loads its implementation.
import type { Command } from 'commander';
import type { CliContext } from '../cli.ts';
import { defineReport } from './report.ts';
import { definePlan } from './plan.ts';
import { defineStatus } from './status.ts';
import { definePin } from './pin.ts';
import { definePush } from './push.ts';
import { definePull } from './pull.ts';
import { defineExport } from './export.ts';
import { defineDataset } from './dataset.ts';
import { defineCaption } from './caption.ts';
import { defineSample } from './sample.ts';
import { defineScore } from './score.ts';
import { defineSync } from './sync.ts';
import { defineCheck } from './check.ts';
import { defineRun } from './run.ts';
import { defineSetup } from './setup.ts';
import { defineDoctor } from './doctor.ts';

export const COMMANDS: ((program: Command, ctx: CliContext) => void)[] = [
  definePlan,
  defineStatus,
  definePin,
  definePush,
  definePull,
  defineExport,
  defineDataset,
  defineCaption,
  defineSample,
  defineScore,
  defineSync,
  defineCheck,
  defineRun,
  defineSetup,
  defineDoctor,
  defineReport,
];
