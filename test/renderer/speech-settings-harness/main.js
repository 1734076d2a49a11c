// The speech and models sections alone on a page (built by speech-settings.test.ts with vite), as the
// settings page will hold them: a draft settings slice passed down, each `patch` merged into it and
// recorded in globalThis.__patches for the test.
import { createApp, h, reactive } from 'vue';
import { createVuetify } from 'vuetify';
import { VApp, VContainer, VMain } from 'vuetify/components';
import { aliases, mdi } from 'vuetify/iconsets/mdi-svg';
import 'vuetify/styles';
import '@fontsource/noto-sans-sc/400.css';
import { i18n } from '../../../src/renderer/i18n/index.ts';
import ModelsSection from '../../../src/renderer/settings/ModelsSection.vue';
import SpeechSection from '../../../src/renderer/settings/SpeechSection.vue';
import { openMic } from '../../../src/renderer/voice/mic.ts';

const settings = reactive({
  asr: { engine: 'pocketsphinx', language: '', vad: { minSilenceMs: 300 }, sherpa: { model: 'sense-voice' } },
  tts: { engine: 'flite', voice: 'kal16', rate: 1 },
});
globalThis.__settings = settings;
globalThis.__patches = [];
// The studio's own capture, for the test that it opens the device picked here.
globalThis.__openMic = openMic;

function merge(into, patch) {
  for (const [k, v] of Object.entries(patch)) {
    if (v && typeof v === 'object' && !Array.isArray(v)) merge((into[k] ??= {}), v);
    else into[k] = v;
  }
}
const onPatch = (p) => {
  globalThis.__patches.push(JSON.parse(JSON.stringify(p)));
  merge(settings, p);
};

const vuetify = createVuetify({ icons: { defaultSet: 'mdi', aliases, sets: { mdi } }, theme: { defaultTheme: 'dark' } });
createApp({
  render: () =>
    h(VApp, null, () =>
      h(VMain, null, () =>
        h(VContainer, { style: 'max-width: 900px' }, () => [h(SpeechSection, { settings, onPatch }), h('div', { class: 'my-4' }), h(ModelsSection, { settings, onPatch })]),
      ),
    ),
})
  .use(vuetify)
  .use(i18n)
  .mount('#app');
