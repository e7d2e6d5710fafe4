// A small typed event emitter (no Node `events` in the browser bundle). A listener that
// throws does not break the SDK: its error is rethrown asynchronously (an uncaught error of
// the page), and the other listeners still run.

/** Listener signatures by event name. */
export type EventMap<T> = { [K in keyof T]: (...args: never[]) => void };

export class FFCEventEmitter<Events extends EventMap<Events>> {
  private readonly listenerMap = new Map<keyof Events, { fn: Events[keyof Events]; once: boolean }[]>();

  on<E extends keyof Events>(event: E, listener: Events[E]): this {
    return this.add(event, listener, false);
  }

  addListener<E extends keyof Events>(event: E, listener: Events[E]): this {
    return this.add(event, listener, false);
  }

  once<E extends keyof Events>(event: E, listener: Events[E]): this {
    return this.add(event, listener, true);
  }

  off<E extends keyof Events>(event: E, listener: Events[E]): this {
    const list = this.listenerMap.get(event);
    if (list) {
      const i = list.findIndex((l) => l.fn === listener);
      if (i >= 0) list.splice(i, 1);
      if (list.length === 0) this.listenerMap.delete(event);
    }
    return this;
  }

  removeListener<E extends keyof Events>(event: E, listener: Events[E]): this {
    return this.off(event, listener);
  }

  removeAllListeners(event?: keyof Events): this {
    if (event === undefined) this.listenerMap.clear();
    else this.listenerMap.delete(event);
    return this;
  }

  listenerCount(event: keyof Events): number {
    return this.listenerMap.get(event)?.length ?? 0;
  }

  listeners<E extends keyof Events>(event: E): Events[E][] {
    return (this.listenerMap.get(event) ?? []).map((l) => l.fn as Events[E]);
  }

  /** Calls the event's listeners with `args`; true if there were any. */
  emit<E extends keyof Events>(event: E, ...args: Parameters<Events[E]>): boolean {
    const list = this.listenerMap.get(event);
    if (!list || list.length === 0) return false;
    for (const l of [...list]) {
      if (l.once) this.off(event, l.fn as Events[E]);
      try {
        (l.fn as unknown as (...a: Parameters<Events[E]>) => void)(...args);
      } catch (err) {
        queueMicrotask(() => {
          throw err;
        });
      }
    }
    return true;
  }

  private add<E extends keyof Events>(event: E, listener: Events[E], once: boolean): this {
    let list = this.listenerMap.get(event);
    if (!list) {
      list = [];
      this.listenerMap.set(event, list);
    }
    list.push({ fn: listener, once });
    return this;
  }
}
