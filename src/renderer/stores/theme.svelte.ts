// Dark or light theme, remembered between sessions; the CSS reads `data-theme` on <html>.
export type Theme = 'dark' | 'light';
export const THEMES: readonly Theme[] = ['dark', 'light'];

const STORAGE_KEY = 'defectforge.theme';

function initialTheme(): Theme {
  const saved = localStorage.getItem(STORAGE_KEY);
  if (saved === 'dark' || saved === 'light') return saved;
  return window.matchMedia('(prefers-color-scheme: light)').matches ? 'light' : 'dark';
}

const state = $state<{ theme: Theme }>({ theme: initialTheme() });
document.documentElement.dataset['theme'] = state.theme;

export function theme(): Theme {
  return state.theme;
}

export function setTheme(next: Theme): void {
  state.theme = next;
  document.documentElement.dataset['theme'] = next;
  localStorage.setItem(STORAGE_KEY, next);
}
