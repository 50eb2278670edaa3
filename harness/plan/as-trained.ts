// Pure: the plan as the runs were trained. A run trained with a local `--script` is named by that script's
// sha256, so the experiment's plan (made with the pin's sha256) would not find it: status showed it "(not
// planned)" beside a phantom planned one, and report, check and sample never saw it. The one rule every
// command that reads the store follows: a planned run is the run the store holds for it, trained with the
// pinned script or with any script a stored run records, the most recently worked on; the planned id when
// the store holds none.
import type { StoredRun } from '../store/runs.ts';
import { planExperiment, type Plan, type PlanInputs, type RunSpec } from './planner.ts';

export function planAsTrained(inputs: PlanInputs, plan: Plan, stored: StoredRun[]): Plan {
  const byId = new Map(stored.map((run) => [run.id, run]));
  const planned = new Set(plan.runs.map((run) => run.provenance.scriptSha256));
  const others = new Map<string, string | null>();
  for (const run of stored) if (run.script && !planned.has(run.script.sha256) && !others.has(run.script.sha256)) others.set(run.script.sha256, run.script.path);
  if (others.size === 0) return plan;
  const alternatives = [...others].map(([sha256, file]) => planExperiment({ ...inputs, script: { sha256, path: file } }));
  const runs = plan.runs.map((run) => {
    const candidates = [run, ...alternatives.map((alt) => alt.runs.find((r) => r.variant === run.variant)).filter((r): r is RunSpec => r !== undefined)];
    const inStore = candidates.filter((c) => byId.has(c.id));
    if (inStore.length === 0) return run;
    return inStore.sort((a, b) => (byId.get(b.id)!.updatedAt < byId.get(a.id)!.updatedAt ? -1 : byId.get(b.id)!.updatedAt > byId.get(a.id)!.updatedAt ? 1 : 0))[0]!;
  });
  return { ...plan, runs };
}

/**
 * Why the store has no run under a planned id although it holds runs of that variant: what differs between
 * the planned run and each of them (script, dataset, models, settings). Empty when it holds none.
 */
export function otherRunsOfVariant(run: RunSpec, stored: StoredRun[]): string[] {
  const out: string[] = [];
  for (const other of stored) {
    if (other.id === run.id || (other.variant !== run.variant && !run.aliases.includes(other.variant ?? ''))) continue;
    const p = other.spec?.provenance;
    const differs: string[] = [];
    if (other.script && other.script.sha256 !== run.provenance.scriptSha256) {
      differs.push(`trained with another script (sha256 ${other.script.sha256.slice(0, 12)}${other.script.path ? `, ${other.script.path}` : ''})`);
    }
    if (p && p.datasetHash !== undefined && p.datasetHash !== run.provenance.datasetHash) differs.push(`another dataset (hash ${String(p.datasetHash).slice(0, 12)}, now ${String(run.provenance.datasetHash).slice(0, 12)})`);
    if (p?.model && p.model.commit !== run.provenance.model.commit) differs.push(`another model commit (${p.model.commit ?? 'unpinned'})`);
    if (p?.vae && p.vae.commit !== run.provenance.vae.commit) differs.push(`another VAE commit (${p.vae.commit ?? 'unpinned'})`);
    if (p?.instancePrompt !== undefined && p.instancePrompt !== run.provenance.instancePrompt) differs.push(`another instance prompt ("${p.instancePrompt}")`);
    const settings = other.spec?.settings;
    if (settings) {
      const keys = [...new Set([...Object.keys(settings), ...Object.keys(run.settings)])].filter((k) => JSON.stringify(settings[k]) !== JSON.stringify(run.settings[k]));
      if (keys.length) differs.push(`other settings (${keys.map((k) => `${k}=${JSON.stringify(settings[k] ?? null)}`).join(', ')})`);
    }
    out.push(`${other.id}: ${differs.length ? differs.join('; ') : 'no spec.json to compare (never started)'}`);
  }
  return out;
}
