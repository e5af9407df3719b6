/** A minimal typed event emitter: no dependency on EventTarget's Node/browser differences. */
export class Emitter<Events extends object> {
  private readonly listeners = new Map<keyof Events, Set<(detail: never) => void>>();

  on<E extends keyof Events>(event: E, listener: (detail: Events[E]) => void): () => void {
    let set = this.listeners.get(event);
    if (!set) this.listeners.set(event, (set = new Set()));
    set.add(listener as (detail: never) => void);
    return () => set.delete(listener as (detail: never) => void);
  }

  emit<E extends keyof Events>(event: E, detail: Events[E]): void {
    for (const listener of this.listeners.get(event) ?? []) {
      // One listener's bug must not stop the others, nor the refresh that emitted the event.
      try {
        (listener as (detail: Events[E]) => void)(detail);
      } catch (error) {
        queueMicrotask(() => {
          throw error;
        });
      }
    }
  }
}
