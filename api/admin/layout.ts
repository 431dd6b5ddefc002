/**
 * The frame of every operator page: navigation, the signed-in role, the logout form (with its
 * CSRF token), and the stylesheet. Pages carry no script at all; the Content-Security-Policy
 * set by the plugin forbids it, so even a value that escaped escaping could not run.
 */
import { html, type SafeHtml } from './html.js';

export interface PageContext {
  role: 'admin' | 'analyst';
  actor: string;
  csrf: string;
  now: Date;
}

const NAV: readonly [string, string][] = [
  ['/admin', 'Overview'],
  ['/admin/reports', 'Reports'],
  ['/admin/stats', 'Removal times'],
  ['/admin/networks', 'Networks'],
  ['/admin/queues', 'Queues'],
];

export function page(title: string, body: SafeHtml, ctx: PageContext | null, current = ''): string {
  const nav = ctx
    ? html`<nav><span class="brand">vigil</span>${NAV.map(([href, label]) => html`<a href="${href}"${href === current ? html` aria-current="page"` : ''}>${label}</a>`)}
      <span class="who">${ctx.role}${ctx.role === 'analyst' ? ' (read-only)' : ''}</span>
      <form method="post" action="/admin/logout" class="logout"><input type="hidden" name="_csrf" value="${ctx.csrf}"><button type="submit">Log out</button></form></nav>`
    : html`<nav><span class="brand">vigil</span></nav>`;
  return html`<!doctype html>
<html lang="en"><head><meta charset="utf-8"><meta name="viewport" content="width=device-width, initial-scale=1">
<meta name="referrer" content="no-referrer"><title>${title} · vigil</title>
<link rel="stylesheet" href="/admin/assets/admin.css"></head>
<body>${nav}<main><h1>${title}</h1>${body}</main></body></html>`.value;
}

export const ADMIN_CSS = `
:root { --fg: #1d232b; --muted: #687382; --line: #d9dee5; --bg: #f6f7f9; --accent: #1f5fae; --bad: #b3261e; --warn: #8a5a00; --ok: #216e39; }
* { box-sizing: border-box; }
body { margin: 0; font: 14px/1.45 system-ui, -apple-system, "Segoe UI", Roboto, sans-serif; color: var(--fg); background: var(--bg); }
nav { display: flex; gap: 1.2em; align-items: center; padding: .6em 1.5em; background: #1d232b; color: #fff; }
nav a { color: #cfd8e3; text-decoration: none; } nav a[aria-current] { color: #fff; font-weight: 600; }
nav .brand { font-weight: 700; letter-spacing: .04em; margin-right: 1em; }
nav .who { margin-left: auto; color: #cfd8e3; } nav form { margin: 0; }
nav button { background: none; border: 1px solid #5b6573; color: #fff; border-radius: 4px; padding: .2em .7em; cursor: pointer; }
main { padding: 1em 1.5em 3em; max-width: 1280px; }
h1 { font-size: 1.45em; margin: .3em 0 .8em; } h2 { font-size: 1.1em; margin: 1.6em 0 .5em; }
section.alerts { margin-top: .8em; }
section.cards { display: grid; grid-template-columns: repeat(auto-fill, minmax(150px, 1fr)); gap: .8em; }
.card { background: #fff; border: 1px solid var(--line); border-radius: 6px; padding: .7em .9em; }
.card .n { font-size: 1.6em; font-weight: 600; } .card .l { color: var(--muted); }
.card.alert { border-color: var(--bad); } .card.alert .n { color: var(--bad); }
table { border-collapse: collapse; width: 100%; background: #fff; border: 1px solid var(--line); }
th, td { text-align: left; padding: .35em .6em; border-bottom: 1px solid var(--line); vertical-align: top; }
th { background: #eef1f5; font-weight: 600; } td.num, th.num { text-align: right; font-variant-numeric: tabular-nums; }
code.url { word-break: break-all; font-size: .92em; }
.muted { color: var(--muted); } .warn { color: var(--warn); font-weight: 600; } .bad { color: var(--bad); font-weight: 600; }
.tag { display: inline-block; font-size: .8em; padding: 0 .4em; border-radius: 3px; background: #e7ecf3; }
.status { display: inline-block; font-size: .85em; padding: .05em .5em; border-radius: 3px; background: #e7ecf3; }
.status-live { background: #fde8e7; color: var(--bad); } .status-notified { background: #fff1d6; color: var(--warn); }
.status-removed { background: #e3f3e7; color: var(--ok); }
.grid2 { display: grid; grid-template-columns: repeat(auto-fit, minmax(520px, 1fr)); gap: 1.5em; }
form.inline { display: inline; } form.filters { margin: 0 0 1em; display: flex; gap: .6em; flex-wrap: wrap; align-items: end; }
label { display: block; color: var(--muted); font-size: .9em; }
input, select { font: inherit; padding: .25em .4em; }
button.action { font: inherit; padding: .25em .8em; border: 1px solid var(--accent); background: #fff; color: var(--accent); border-radius: 4px; cursor: pointer; }
.pager { margin: 1em 0; display: flex; gap: 1em; }
.login { max-width: 420px; background: #fff; border: 1px solid var(--line); border-radius: 6px; padding: 1.2em 1.5em; }
.login input[type=password] { width: 100%; }
.error { color: var(--bad); }
dl.facts { display: grid; grid-template-columns: max-content 1fr; gap: .25em 1.2em; background: #fff; border: 1px solid var(--line); padding: .8em 1em; }
dl.facts dt { color: var(--muted); } dl.facts dd { margin: 0; }
ol.timeline { list-style: none; padding: 0; margin: 0; background: #fff; border: 1px solid var(--line); }
ol.timeline li { display: grid; grid-template-columns: 190px 110px 1fr; gap: .8em; padding: .35em .7em; border-bottom: 1px solid var(--line); }
ol.timeline .kind { font-weight: 600; }
svg.chart { background: #fff; border: 1px solid var(--line); max-width: 100%; height: auto; }
svg.chart text { font: 12px system-ui, sans-serif; fill: var(--fg); } svg.chart .tick { fill: var(--muted); font-size: 11px; }
svg.chart .bar, svg.chart .legend-bar { fill: var(--accent); } svg.chart .spread, svg.chart .legend-spread { fill: #b9cde6; }
svg.chart .grid { stroke: #e3e7ec; } svg.chart .empty { fill: var(--muted); }
`;
