// Fills `{name}` placeholders of a catalogue string. A placeholder without a value is left
// visible (`{name}`) so a missing argument shows up in the UI instead of vanishing.
export type MessageParams = Record<string, string | number>;

export function interpolate(template: string, params: MessageParams = {}): string {
  return template.replace(/\{(\w+)\}/g, (whole, name: string) => (Object.hasOwn(params, name) ? String(params[name]) : whole));
}
