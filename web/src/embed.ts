// The iframe API: when the page is embedded, it tells its parent what happens, as
// `{source: 'vroom', type, ...}` messages (never a token or key). See README.md.

export type EmbedEvent = 'joined' | 'left' | 'participants' | 'ended' | 'error';

function parentOrigin(): string {
  // Chromium and Safari name the embedding origin; elsewhere the messages carry nothing
  // secret, so any parent may read them.
  const ancestors = (location as { ancestorOrigins?: DOMStringList }).ancestorOrigins;
  const first = ancestors !== undefined && ancestors.length > 0 ? ancestors.item(0) : null;
  return first && first !== 'null' ? first : '*';
}

export function isEmbedded(): boolean {
  try {
    return window.parent !== window;
  } catch {
    return true;
  }
}

export function postToParent(type: EmbedEvent, data: Record<string, unknown> = {}): void {
  if (!isEmbedded()) return;
  try {
    window.parent.postMessage({ ...data, source: 'vroom', type }, parentOrigin());
  } catch {
    // a parent that went away
  }
}
