// Online, offline or disabled; where W&B is; the API key. The key stays inside a Credentials object
// that refuses to be serialised, so it can't reach a file, a log or an error message by accident.
import { readFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import type { ExperimentFile } from '../config/schema.ts';

export const DEFAULT_BASE_URL = 'https://api.wandb.ai';

export type TrackingMode = 'online' | 'offline' | 'disabled';

export class Credentials {
  readonly #key: string;

  constructor(key: string) {
    this.#key = key;
  }

  /** `Basic base64("api:" + key)`, as W&B's clients send it. */
  authorization(): string {
    return `Basic ${Buffer.from(`api:${this.#key}`).toString('base64')}`;
  }

  toJSON(): string {
    return '[redacted]';
  }

  toString(): string {
    return '[redacted]';
  }

  [Symbol.for('nodejs.util.inspect.custom')](): string {
    return 'Credentials [redacted]';
  }
}

export interface TrackingTarget {
  mode: TrackingMode;
  /** why this mode, for status lines */
  why: string;
  baseUrl: string;
  project: string | null;
  entity: string | null;
  credentials: Credentials | null;
}

export function baseUrlFrom(env: NodeJS.ProcessEnv): string {
  return (env.WANDB_BASE_URL?.trim() || DEFAULT_BASE_URL).replace(/\/+$/, '');
}

/** The password of the `machine <api host>` entry (or `default`) of ~/.netrc (or $NETRC). */
export function netrcKey(env: NodeJS.ProcessEnv, host: string): string | null {
  const file = env.NETRC || path.join(env.HOME || os.homedir(), '.netrc');
  let text: string;
  try {
    text = readFileSync(file, 'utf8');
  } catch {
    return null;
  }
  const tokens = text.split(/\s+/).filter(Boolean);
  let current: string | null = null;
  const passwords = new Map<string, string>();
  for (let i = 0; i < tokens.length; i++) {
    const token = tokens[i]!;
    if (token === 'machine') current = tokens[++i] ?? null;
    else if (token === 'default') current = '\0default';
    else if (token === 'password' && current !== null) passwords.set(current, tokens[++i] ?? '');
  }
  return passwords.get(host) || passwords.get('\0default') || null;
}

export function apiKeyFrom(env: NodeJS.ProcessEnv, baseUrl: string): Credentials | null {
  const fromEnv = env.WANDB_API_KEY?.trim();
  if (fromEnv) return new Credentials(fromEnv);
  let host: string;
  try {
    host = new URL(baseUrl).hostname;
  } catch {
    return null;
  }
  const fromNetrc = netrcKey(env, host);
  return fromNetrc ? new Credentials(fromNetrc) : null;
}

/**
 * The experiment's `tracking.wandb.mode` decides first (disabled/offline win); under `auto` and
 * `online`, WANDB_MODE=offline|dryrun|disabled is honoured; online needs a key, else offline.
 */
export function resolveTarget(tracking: ExperimentFile['tracking'] | undefined, env: NodeJS.ProcessEnv): TrackingTarget {
  const wandb = tracking?.wandb;
  const baseUrl = baseUrlFrom(env);
  const project = wandb?.project ?? env.WANDB_PROJECT ?? null;
  const entity = wandb?.entity ?? env.WANDB_ENTITY ?? null;
  const base = { baseUrl, project, entity };
  if (!project) return { ...base, mode: 'disabled', why: 'no tracking.wandb.project in the experiment', credentials: null };
  const configured = wandb?.mode ?? 'auto';
  if (configured === 'disabled') return { ...base, mode: 'disabled', why: 'tracking.wandb.mode: disabled', credentials: null };
  const envMode = env.WANDB_MODE?.trim().toLowerCase();
  if (envMode === 'disabled') return { ...base, mode: 'disabled', why: 'WANDB_MODE=disabled', credentials: null };
  const credentials = apiKeyFrom(env, baseUrl);
  if (configured === 'offline') return { ...base, mode: 'offline', why: 'tracking.wandb.mode: offline', credentials };
  if (envMode === 'offline' || envMode === 'dryrun') return { ...base, mode: 'offline', why: `WANDB_MODE=${envMode}`, credentials };
  if (!credentials) return { ...base, mode: 'offline', why: 'no WANDB_API_KEY and no ~/.netrc entry for the API host', credentials: null };
  return { ...base, mode: 'online', why: configured === 'online' ? 'tracking.wandb.mode: online' : 'API key found', credentials };
}
