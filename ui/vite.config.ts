/// <reference types="vitest/config" />
import { fileURLToPath } from 'node:url';
import { svelte } from '@sveltejs/vite-plugin-svelte';
import { svelteTesting } from '@testing-library/svelte/vite';
import { defineConfig } from 'vite';

// The console runs inside Tauri's WebKitGTK window under a strict CSP: everything is bundled
// from this folder, nothing is fetched from the network, and relative asset URLs (`base: './'`)
// keep the build working from Tauri's custom protocol.
export default defineConfig({
  root: fileURLToPath(new URL('.', import.meta.url)),
  base: './',
  clearScreen: false,
  plugins: [svelte(), svelteTesting()],
  server: {
    port: 1420,
    strictPort: true,
  },
  build: {
    outDir: 'dist',
    emptyOutDir: true,
    target: ['es2020', 'safari13'],
    sourcemap: false,
    // Tauri embeds dist/ in the binary; one small chunk per entry keeps that simple.
    chunkSizeWarningLimit: 600,
  },
  test: {
    environment: 'jsdom',
    include: ['src/**/*.test.ts'],
    setupFiles: ['src/test/setup.ts'],
    restoreMocks: true,
  },
});
