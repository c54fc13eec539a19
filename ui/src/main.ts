// First: it must run before any module that reads navigator.language at load time.
import './lib/locale-guard';
import { mount } from 'svelte';
import './app.css';
import App from './App.svelte';
import { firstPaint } from './lib/api';

mount(App, { target: document.getElementById('app')! });

// Once, after the first frame is on screen (two frames: the first callback runs before paint).
requestAnimationFrame(() => requestAnimationFrame(firstPaint));
