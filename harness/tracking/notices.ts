// Lines for the user from tracking (a run's W&B address when it is created), handed to whoever listens:
// the command layer prints them through its own progress channel. Tracking never prints itself.
type Listener = (line: string) => void;

const listeners = new Set<Listener>();

/** Listens until the returned function is called. */
export function onTrackingNotice(listener: Listener): () => void {
  listeners.add(listener);
  return () => listeners.delete(listener);
}

export function trackingNotice(line: string): void {
  for (const listener of listeners) {
    try {
      listener(line);
    } catch {
      // a listener's failure is not the run's
    }
  }
}
