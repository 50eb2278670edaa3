// Every command's CLI definition. Each defines its flags and help, and lazy-loads its implementation.
import type { Command } from 'commander';
import type { CliContext } from '../cli.ts';
import { definePlan } from './plan.ts';
import { defineStatus } from './status.ts';
import { definePin } from './pin.ts';
import { defineExport } from './export.ts';
import { defineDataset } from './dataset.ts';
import { defineCaption } from './caption.ts';
import { defineSample } from './sample.ts';

export const COMMANDS: ((program: Command, ctx: CliContext) => void)[] = [
  definePlan,
  defineStatus,
  definePin,
  defineExport,
  defineDataset,
  defineCaption,
  defineSample,
];
