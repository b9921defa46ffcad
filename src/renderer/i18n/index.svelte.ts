// The message catalogue and the current language, switchable at run time: `t()` reads the
// reactive locale, so every string shown through it updates when the language changes.
import { en, type MessageKey } from './en';
import { interpolate, type MessageParams } from './format';
import { ko } from './ko';

export const catalogues: Record<Locale, Record<MessageKey, string>> = { en, ko };
export type Locale = 'en' | 'ko';
export const LOCALES: readonly Locale[] = ['en', 'ko'];
/** Each language's name in itself, as the language switch shows it. */
export const LOCALE_NAMES: Record<Locale, string> = { en: 'English', ko: '한국어' };

const STORAGE_KEY = 'defectforge.locale';

function initialLocale(): Locale {
  const saved = localStorage.getItem(STORAGE_KEY);
  if (saved === 'en' || saved === 'ko') return saved;
  return navigator.language.toLowerCase().startsWith('ko') ? 'ko' : 'en';
}

const state = $state<{ locale: Locale }>({ locale: initialLocale() });
document.documentElement.lang = state.locale;

export function locale(): Locale {
  return state.locale;
}

export function setLocale(next: Locale): void {
  state.locale = next;
  document.documentElement.lang = next;
  localStorage.setItem(STORAGE_KEY, next);
}

export function t(key: MessageKey, params?: MessageParams): string {
  return interpolate(catalogues[state.locale][key], params);
}

/** Numbers and dates in the current language's conventions. */
export function formatNumber(value: number): string {
  return new Intl.NumberFormat(state.locale).format(value);
}

export function formatDate(iso: string): string {
  const time = Date.parse(iso);
  return Number.isNaN(time) ? iso : new Intl.DateTimeFormat(state.locale, { dateStyle: 'medium', timeStyle: 'short' }).format(time);
}

export function formatBytes(bytes: number): string {
  const units = ['B', 'KB', 'MB', 'GB', 'TB'];
  let value = bytes;
  let unit = 0;
  while (value >= 1024 && unit < units.length - 1) {
    value /= 1024;
    unit += 1;
  }
  return `${new Intl.NumberFormat(state.locale, { maximumFractionDigits: unit === 0 ? 0 : 1 }).format(value)} ${units[unit]}`;
}
