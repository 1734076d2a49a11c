/**
 * Renderer entry. Single-file components only: runtime template strings would need eval, which
 * the CSP forbids. Icons are SVG paths from @mdi/js (no webfont, nothing fetched).
 */
import './zod-jitless.js';
import { createApp } from 'vue';
import { createVuetify } from 'vuetify';
import { aliases, mdi } from 'vuetify/iconsets/mdi-svg';
import 'vuetify/styles';
import '@fontsource/noto-sans-sc/400.css';
import App from './App.vue';
import { i18n } from './i18n/index.js';

const vuetify = createVuetify({
  icons: { defaultSet: 'mdi', aliases, sets: { mdi } },
  theme: { defaultTheme: 'dark' },
});

createApp(App).use(vuetify).use(i18n).mount('#app');
