import { readFile } from 'node:fs/promises'
import { join } from 'node:path'
import { CHART_LIBRARY_NAME, resolveDashboardFiles } from './assets.ts'

/** The dashboard's pure view modules (they take data, never fetch), inlined into a report. */
const VIEW_MODULES = ['charts.js', 'dom.js', 'format.js', 'views/backtest.js', 'views/training.js', 'views/compare.js']

export type TearsheetView =
  | { view: 'backtest'; data: { result: unknown; chart: unknown } }
  | { view: 'training'; data: { result: unknown; operationId: string } }
  | { view: 'compare'; data: { comparison: unknown; charts: Record<string, unknown> } }

const RENDER: Record<TearsheetView['view'], [module: string, fn: string]> = {
  backtest: ['ktrdr/views/backtest.js', 'renderBacktest'],
  training: ['ktrdr/views/training.js', 'renderTraining'],
  compare: ['ktrdr/views/compare.js', 'renderCompare'],
}

const dataUrl = (source: string) => `data:text/javascript;base64,${Buffer.from(source).toString('base64')}`

/** JSON that can sit inside a <script> element: no `</script>`, no `<!--`. */
const scriptJson = (value: unknown) =>
  JSON.stringify(value)
    .replace(/</g, '\\u003c')
    .replace(/\u2028/g, '\\u2028')
    .replace(/\u2029/g, '\\u2029')

const escapeHtml = (s: string) => s.replace(/[&<>"']/g, (c) => `&#${c.charCodeAt(0)};`)

/**
 * One self-contained HTML file drawing the same views as the dashboard: the stylesheet, the chart
 * library and the view modules are inlined (the modules as data: URLs behind an import map, so the
 * very files the dashboard serves run unchanged), the data as JSON. It opens from disk, offline.
 */
export async function buildTearsheet(input: TearsheetView & { title: string; generatedBy?: string }): Promise<string> {
  const files = resolveDashboardFiles()
  if (!files) throw new Error('The dashboard files are missing (research/ui/public, lightweight-charts in node_modules, or KTRDR_UI_DIR)')
  const library = files.library ?? join(files.dir, CHART_LIBRARY_NAME)
  const imports: Record<string, string> = { 'lightweight-charts': dataUrl(await readFile(library, 'utf8')) }
  for (const rel of VIEW_MODULES) imports[`ktrdr/${rel}`] = dataUrl(await readFile(join(files.dir, 'js', rel), 'utf8'))
  const css = await readFile(join(files.dir, 'styles.css'), 'utf8')
  const [module, fn] = RENDER[input.view]
  return `<!doctype html>
<html lang="en">
<head>
<meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1">
<meta name="generator" content="${escapeHtml(input.generatedBy ?? 'ktrdr report')}">
<title>${escapeHtml(input.title)}</title>
<style>${css.replace(/<\/style/gi, '<\\/style')}</style>
<script type="importmap">${scriptJson({ imports })}</script>
</head>
<body>
<main class="report"></main>
<footer class="note">${escapeHtml(input.generatedBy ?? 'ktrdr report')} · ${new Date().toISOString()} · self-contained: opens offline</footer>
<script type="application/json" id="ktrdr-data">${scriptJson(input.data)}</script>
<script type="module">
import { ${fn} } from '${module}'
${fn}(document.querySelector('main'), JSON.parse(document.getElementById('ktrdr-data').textContent))
</script>
</body>
</html>
`
}
