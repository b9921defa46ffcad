// Every timestamp in the store is an ISO 8601 UTC string, so that text order is time order.
export function nowIso(): string {
  return new Date().toISOString();
}
