/** The small status page at `/` when the studio renderer has not been built (the seed had one too). */
import { StudioPaths } from '../../shared/renderer-api.js';
import type { GatewayDeps } from './types.js';

const escape = (s: string) => s.replace(/[&<>"']/g, (c) => `&#${c.charCodeAt(0)};`);

export function statusPage(deps: GatewayDeps, rendererDir: string | undefined): string {
  const rows = deps.services
    .status()
    .map((s) => `<tr><td>${escape(s.name)}</td><td>${escape(s.state)}</td><td>${escape(s.notice ?? '')}</td></tr>`)
    .join('');
  const hint = rendererDir ? `The studio page is not built (${escape(rendererDir)} has no index.html): run <code>npm run build</code>.` : '';
  return `<!doctype html><html><head><meta charset="utf-8"><title>Free-Agent-Vtuber Studio</title>
<meta http-equiv="Content-Security-Policy" content="default-src 'none'; style-src 'unsafe-inline'">
<style>body{font:14px system-ui,sans-serif;margin:2em}td{padding:2px 12px}</style></head>
<body><h1>Free-Agent-Vtuber Studio ${escape(deps.version)}</h1><p>${hint}</p>
<p>Bus: ${escape(deps.bus.kind)} (${escape(deps.bus.url)})</p>
<table><tr><th>service</th><th>state</th><th>notice</th></tr>${rows}</table>
<p><a href="${StudioPaths.health}">${StudioPaths.health}</a></p></body></html>`;
}
