// The environment report shared by `harness setup` and `harness doctor`: what the Python side has, what
// the experiment's runs need from it, and exactly what to install.
import type { TrainingSettings } from '../config/schema.ts';
import { defaultDevice, INSTALL_COMMAND, missingPackages, type EnvProbe } from './envinfo.ts';
import { checkEnvironment, type PreflightFinding } from './preflight.ts';

export interface EnvCheck {
  ok: boolean;
  python: string;
  pythonVersion: string | null;
  torch: { version: string | null; cuda: string | null; archList: string[] } | null;
  gpus: { name: string; capability: string; memoryMb: number | null; driver: string | null }[];
  packages: Record<string, string | null>;
  missing: string[];
  installCommand: string;
  errors: PreflightFinding[];
  warnings: PreflightFinding[];
}

/**
 * `settingsList`: the resolved settings of every run that may be trained (their needs are unioned).
 * `device`: where they would train; default what the machine has (a CUDA GPU when torch sees one, else the CPU).
 */
export function envCheck(probe: EnvProbe, settingsList: TrainingSettings[], diffusersRelease: string | null, device?: 'cuda' | 'cpu'): EnvCheck {
  if (!probe.ok) {
    return {
      ok: false, python: probe.python, pythonVersion: null, torch: null, gpus: [], packages: {}, missing: [], installCommand: INSTALL_COMMAND,
      errors: [{ check: 'python', message: probe.message, hint: 'install Python ≥ 3.10, or pass --python EXE' }], warnings: [],
    };
  }
  const info = probe.info;
  const missing = [...new Set(settingsList.flatMap((s) => missingPackages(info, s)))];
  const errors = new Map<string, PreflightFinding>();
  const warnings = new Map<string, PreflightFinding>();
  for (const settings of settingsList) {
    const report = checkEnvironment(settings, info, diffusersRelease ?? info.packages.diffusers ?? '', device ?? defaultDevice(probe));
    for (const e of report.errors) if (e.check !== 'packages') errors.set(e.message, e);
    for (const w of report.warnings) warnings.set(w.message, w);
  }
  if (missing.length) errors.set('missing', { check: 'packages', message: `missing Python packages: ${missing.join(', ')}`, hint: INSTALL_COMMAND });
  return {
    ok: errors.size === 0,
    python: info.python.executable,
    pythonVersion: info.python.version,
    torch: info.torch ? { version: info.torch.version, cuda: info.torch.cuda, archList: info.torch.arch_list } : null,
    gpus: info.gpus.map((g) => ({ name: g.name, capability: g.capability, memoryMb: g.memory_mb, driver: g.driver })),
    packages: info.packages,
    missing,
    installCommand: INSTALL_COMMAND,
    errors: [...errors.values()],
    warnings: [...warnings.values()],
  };
}
