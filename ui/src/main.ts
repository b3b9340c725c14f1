import { mount } from 'svelte';
import App from './App.svelte';
import { applyRememberedTheme } from './lib/theme';
import './app.css';

// Paint in the last chosen theme before the settings arrive from the backend.
applyRememberedTheme();

const target = document.getElementById('app');
if (target === null) throw new Error('index.html has no #app element');

export default mount(App, { target });
