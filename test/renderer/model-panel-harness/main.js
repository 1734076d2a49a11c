// The studio's model panel alone on a page (built by model-panel.test.ts with vite): the studio's
// App.vue wires the panel to the avatar; here the preview prop records what it was asked to play.
import { createApp, h } from 'vue';
import { createVuetify } from 'vuetify';
import { VApp, VMain } from 'vuetify/components';
import { aliases, mdi } from 'vuetify/iconsets/mdi-svg';
import 'vuetify/styles';
import ModelPanel from '../../../src/renderer/components/ModelPanel.vue';
import { useModels } from '../../../src/renderer/stores/models.ts';
import { i18n } from '../../../src/renderer/i18n/index.ts';

globalThis.__previews = [];
// The store, for what the panel does not do itself (the avatar saves its position through it).
globalThis.__models = useModels();
const vuetify = createVuetify({ icons: { defaultSet: 'mdi', aliases, sets: { mdi } }, theme: { defaultTheme: 'dark' } });
const preview = (action) => globalThis.__previews.push(action);
createApp({ render: () => h(VApp, null, () => h(VMain, null, () => h(ModelPanel, { preview }))) })
  .use(vuetify)
  .use(i18n)
  .mount('#app');
