import '@testing-library/jest-dom/vitest';
import { clearMocks } from '@tauri-apps/api/mocks';
import { afterEach } from 'vitest';
import { stopLive } from '../lib/live.svelte';
import { nav, parseHash } from '../lib/nav.svelte';
import { notices } from '../lib/notices.svelte';

afterEach(async () => {
  await stopLive();
  clearMocks();
  notices.clear();
  window.location.hash = '';
  nav.route = parseHash('');
});
