// Every command's CLI definition, in the order a user meets them (the order `harness --help` lists).
// Each defines its flags and help, and lazy-loads its implementation.
import type { Command } from 'commander';
import type { CliContext } from '../cli.ts';
import { defineCaption } from './caption.ts';
import { defineCheck } from './check.ts';
import { defineDataset } from './dataset.ts';
import { defineDoctor } from './doctor.ts';
import { defineExport } from './export.ts';
import { definePin } from './pin.ts';
import { definePlan } from './plan.ts';
import { definePull } from './pull.ts';
import { definePush } from './push.ts';
import { defineReport } from './report.ts';
import { defineRun } from './run.ts';
import { defineSample } from './sample.ts';
import { defineScore } from './score.ts';
import { defineSetup } from './setup.ts';
import { defineStatus } from './status.ts';
import { defineSweep } from './sweep.ts';
import { defineSync } from './sync.ts';

export const COMMANDS: ((program: Command, ctx: CliContext) => void)[] = [
  definePlan,
  defineSetup,
  defineSweep,
  defineRun,
  defineStatus,
  defineReport,
  defineCheck,
  defineDataset,
  defineCaption,
  defineSample,
  defineScore,
  defineSync,
  definePin,
  definePush,
  definePull,
  defineExport,
  defineDoctor,
];
