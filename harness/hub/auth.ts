// Where the Hub token and endpoint come from. The token is read, passed to the library, and never
// printed, logged or written anywhere by harness.
import { readFile } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { UsageError } from '../errors.ts';

export const DEFAULT_HUB_URL = 'https://huggingface.co';

export interface HubToken {
  token: string;
  /** where it came from, for messages: "HF_TOKEN" or the token file path (never the token) */
  source: string;
}

/** HF_ENDPOINT (what huggingface_hub honours too) or the public Hub. */
export function hubUrlFromEnv(env: NodeJS.ProcessEnv): string {
  return (env.HF_ENDPOINT?.trim() || DEFAULT_HUB_URL).replace(/\/+$/, '');
}

export function hfHome(env: NodeJS.ProcessEnv): string {
  return env.HF_HOME ?? path.join(env.XDG_CACHE_HOME ?? path.join(os.homedir(), '.cache'), 'huggingface');
}

/** The file `huggingface-cli login` / `hf auth login` writes. */
export function tokenFilePath(env: NodeJS.ProcessEnv): string {
  return env.HF_TOKEN_PATH ?? path.join(hfHome(env), 'token');
}

/** HF_TOKEN beats the token file, as in huggingface_hub. Null when neither exists. */
export async function resolveToken(env: NodeJS.ProcessEnv): Promise<HubToken | null> {
  const fromEnv = env.HF_TOKEN?.trim();
  if (fromEnv) return checked({ token: fromEnv, source: 'HF_TOKEN' });
  const file = tokenFilePath(env);
  let text: string;
  try {
    text = await readFile(file, 'utf8');
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code === 'ENOENT') return null;
    throw new UsageError(`cannot read the Hugging Face token file ${file}: ${(error as NodeJS.ErrnoException).code ?? error}`);
  }
  const token = text.trim();
  return token ? checked({ token, source: file }) : null;
}

function checked(found: HubToken): HubToken {
  if (!found.token.startsWith('hf_')) {
    throw new UsageError(
      `the Hugging Face token from ${found.source} does not look like a token (they start with "hf_")`,
      'create one at https://huggingface.co/settings/tokens and set HF_TOKEN, or run `hf auth login`',
    );
  }
  return found;
}

/** For commands that write: no token is a usage error that says how to get one. */
export function requireToken(token: HubToken | null, action: string): HubToken {
  if (token) return token;
  throw new UsageError(
    `${action} needs a Hugging Face token with write access`,
    'set HF_TOKEN=hf_… (https://huggingface.co/settings/tokens, "write" role) or run `hf auth login`',
  );
}

/** Replaces the token wherever it might appear in text we are about to show. */
export function redact(text: string, token: string | undefined): string {
  if (!token) return text;
  return text.split(token).join('hf_***');
}
