/**
 * The studio's pages, in the order of its navigation. Each is its own chunk, loaded when first shown.
 * The page shown is `?view=<id>` in the address (a fragment would clash with `#token=`).
 */
import { defineAsyncComponent, type Component, type InjectionKey } from 'vue';
import { mdiAccountVoice, mdiBrain, mdiChartTimelineVariant, mdiCog, mdiForumOutline, mdiRocketLaunchOutline } from '@mdi/js';

export interface StudioPage {
  id: string;
  /** i18n key of the navigation label. */
  titleKey: string;
  icon: string;
  component: Component;
}

export const PAGES: readonly StudioPage[] = [
  { id: 'stage', titleKey: 'app.nav.stage', icon: mdiAccountVoice, component: defineAsyncComponent(() => import('./StagePage.vue')) },
  { id: 'chat', titleKey: 'chat.nav', icon: mdiForumOutline, component: defineAsyncComponent(() => import('./ChatPage.vue')) },
  { id: 'memory', titleKey: 'memory.nav', icon: mdiBrain, component: defineAsyncComponent(() => import('./MemoryPage.vue')) },
  { id: 'settings', titleKey: 'app.nav.settings', icon: mdiCog, component: defineAsyncComponent(() => import('./SettingsPage.vue')) },
  { id: 'manager', titleKey: 'app.nav.manager', icon: mdiChartTimelineVariant, component: defineAsyncComponent(() => import('./ManagerPage.vue')) },
  { id: 'setup', titleKey: 'setup.nav', icon: mdiRocketLaunchOutline, component: defineAsyncComponent(() => import('../setup/SetupWizard.vue')) },
];

/** Shows another page (provided by App.vue): the setup wizard ends on the stage. */
export const NAVIGATE: InjectionKey<(id: string) => void> = Symbol('navigate');

export const DEFAULT_PAGE = 'stage';

export function pageFromAddress(search: string): string {
  const id = new URLSearchParams(search).get('view');
  return PAGES.some((p) => p.id === id) ? (id as string) : DEFAULT_PAGE;
}

/** Shows `?view=<id>` in the address bar without a reload (the token and session parameters stay). */
export function showPageInAddress(id: string): void {
  const url = new URL(window.location.href);
  if (id === DEFAULT_PAGE) url.searchParams.delete('view');
  else url.searchParams.set('view', id);
  window.history.replaceState(window.history.state, '', url.toString());
}
