// The experiment's scheduler names → diffusers classes and the overrides applied on top of the model's own
// scheduler config (`from_config(pipe.scheduler.config, **config)`). Decided here so Python decides nothing.
import type { SchedulerChoice } from './protocol.ts';

export const SCHEDULERS: Record<string, Omit<SchedulerChoice, 'name'>> = {
  // SDXL base's own scheduler (model_index.json): the model's config as shipped.
  euler: { class: 'EulerDiscreteScheduler', config: {} },
  euler_a: { class: 'EulerAncestralDiscreteScheduler', config: {} },
  // What the training script's validation uses; explicit so a diffusers default change cannot move pixels.
  dpmpp_2m: { class: 'DPMSolverMultistepScheduler', config: { algorithm_type: 'dpmsolver++', solver_order: 2, use_karras_sigmas: false } },
  dpmpp_2m_karras: { class: 'DPMSolverMultistepScheduler', config: { algorithm_type: 'dpmsolver++', solver_order: 2, use_karras_sigmas: true } },
  ddim: { class: 'DDIMScheduler', config: {} },
};

export function schedulerChoice(name: string): SchedulerChoice {
  const entry = SCHEDULERS[name];
  if (!entry) throw new Error(`unknown scheduler "${name}" (known: ${Object.keys(SCHEDULERS).join(', ')})`);
  return { name, class: entry.class, config: { ...entry.config } };
}
