// One wrapper per livekit-client object: wrappers register here when constructed, and
// the wrap* functions return the registered one.
const wrappers = new WeakMap<object, object>();

/** @internal */
export function registerWrapper(inner: object, wrapper: object): void {
  wrappers.set(inner, wrapper);
}

/** @internal */
// eslint-disable-next-line @typescript-eslint/no-unnecessary-type-parameters -- callers know which wrapper class an object has
export function registeredWrapper<T extends object>(inner: object): T | undefined {
  return wrappers.get(inner) as T | undefined;
}
