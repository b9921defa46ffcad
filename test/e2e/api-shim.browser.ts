// Injected ONLY into pages served by the browser-test server (test/e2e/server.ts): provides the
// same `window.api` bridge the Electron preload exposes, over HTTP to that server. Invokes are
// POSTs to /api/invoke/<channel> answering the `{ result } | { error }` envelope; events arrive
// on one Server-Sent-Events stream as `{ event, payload }`.
type Listener = (payload: unknown) => void;

const listeners = new Map<string, Set<Listener>>();
const events = new EventSource('/api/events');
events.onmessage = (message: MessageEvent<string>) => {
  const { event, payload } = JSON.parse(message.data) as { event: string; payload: unknown };
  for (const listener of listeners.get(event) ?? []) listener(payload);
};

const bridge = {
  async invoke(channel: string, request: unknown): Promise<unknown> {
    const response = await fetch(`/api/invoke/${encodeURIComponent(channel)}`, {
      method: 'POST',
      headers: { 'Content-Type': 'application/json' },
      body: JSON.stringify(request ?? null),
    });
    if (!response.ok) return { error: { code: 'HTTP', message: `${channel}: HTTP ${response.status}` } };
    return response.json();
  },
  on(event: string, listener: Listener): () => void {
    let set = listeners.get(event);
    if (!set) listeners.set(event, (set = new Set()));
    set.add(listener);
    return () => {
      set.delete(listener);
    };
  },
};

Object.defineProperty(window, 'api', { value: Object.freeze(bridge), enumerable: true });
