// Goldens that are missing or unreadable: nothing to compare against, so nothing was checked (exit 2,
// like every other missing input); 3 is kept for remote services.
import { ExitCode, HarnessError } from '../errors.ts';

export class GoldensError extends HarnessError {
  constructor(message: string, hint?: string) {
    super(message, { exitCode: ExitCode.usage, ...(hint === undefined ? {} : { hint }) });
  }
}
