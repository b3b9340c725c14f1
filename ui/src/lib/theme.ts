/**
 * Light/dark theme. "system" follows `prefers-color-scheme`; "light" and "dark" set
 * `data-theme` on <html>, which the custom properties in app.css key on. The choice is also
 * remembered locally so the next start paints in the right theme before settings load.
 */

export type ThemeChoice = 'system' | 'light' | 'dark';

export const THEME_CHOICES: readonly { value: ThemeChoice; label: string }[] = [
  { value: 'system', label: 'Same as the system' },
  { value: 'light', label: 'Light' },
  { value: 'dark', label: 'Dark' },
];

const STORAGE_KEY = 'crosswalk.theme';

export function normaliseTheme(value: string | null | undefined): ThemeChoice {
  return value === 'light' || value === 'dark' ? value : 'system';
}

export function applyTheme(value: string | null | undefined): ThemeChoice {
  const theme = normaliseTheme(value);
  const root = document.documentElement;
  if (theme === 'system') delete root.dataset.theme;
  else root.dataset.theme = theme;
  try {
    localStorage.setItem(STORAGE_KEY, theme);
  } catch {
    // Storage can be unavailable (private mode, tests); the setting itself is saved by the backend.
  }
  return theme;
}

/** Applies the theme remembered from the last run, before the backend answers. */
export function applyRememberedTheme(): void {
  try {
    applyTheme(localStorage.getItem(STORAGE_KEY));
  } catch {
    applyTheme('system');
  }
}
