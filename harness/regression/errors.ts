// Goldens that are missing or unreadable: exit 3, like the other "what we compare against is not there" errors.
import { ExitCode, HarnessError } from '../errors.ts';

export class GoldensError extends HarnessError {
  constructor(message: string, hint?: string) {
    super(message, { exitCode: ExitCode.remote, ...(hint === undefined ? {} : { hint }) });
  }
}
