// Charts on lightweight-charts (TradingView, Apache-2.0), served from the gateway's own assets or
// inlined into a report: nothing is fetched from a CDN.
import { AreaSeries, LineSeries, LineStyle, createChart, createOptionsChart, createSeriesMarkers } from 'lightweight-charts'

export const COLORS = ['#2962ff', '#e65100', '#2e7d32', '#8e24aa', '#00838f', '#c62828']
const GRID = '#eef0f3'

const base = (height) => ({
  height,
  autoSize: true,
  layout: { background: { color: '#ffffff' }, textColor: '#37474f', fontSize: 11 },
  grid: { vertLines: { color: GRID }, horzLines: { color: GRID } },
  rightPriceScale: { borderVisible: false },
  timeScale: { borderVisible: false, timeVisible: true, secondsVisible: false },
  crosshair: { mode: 0 },
})

/** `{time: [], value: []}` (columnar, epoch seconds) → lightweight-charts points. */
export function points(series, scale = 1) {
  const out = new Array(series.time.length)
  for (let i = 0; i < series.time.length; i++) out[i] = { time: series.time[i], value: series.value[i] * scale }
  return out
}

/** A chart over time in `el` (which gets a legend line above it). */
export function timeChart(el, { height = 260, legend = [] } = {}) {
  el.classList.add('chart')
  if (legend.length) el.append(legendOf(legend))
  const box = document.createElement('div')
  box.className = 'chart-box'
  box.style.height = `${height}px`
  el.append(box)
  return createChart(box, base(height))
}

/** A chart whose horizontal axis is a number (epochs). */
export function numberChart(el, { height = 220, legend = [] } = {}) {
  el.classList.add('chart')
  if (legend.length) el.append(legendOf(legend))
  const box = document.createElement('div')
  box.className = 'chart-box'
  box.style.height = `${height}px`
  el.append(box)
  return createOptionsChart(box, { ...base(height), timeScale: { borderVisible: false } })
}

function legendOf(items) {
  const div = document.createElement('div')
  div.className = 'legend'
  for (const { label, color, dashed } of items) {
    const span = document.createElement('span')
    const swatch = document.createElement('i')
    swatch.style.borderTopColor = color
    if (dashed) swatch.style.borderTopStyle = 'dashed'
    span.append(swatch, label)
    div.append(span)
  }
  return div
}

export function line(chart, data, color, options = {}) {
  const s = chart.addSeries(LineSeries, { color, lineWidth: 2, priceLineVisible: false, lastValueVisible: true, ...options })
  s.setData(data)
  return s
}

export const dashed = { lineStyle: LineStyle.Dashed, lineWidth: 1 }

export function area(chart, data, color, options = {}) {
  const s = chart.addSeries(AreaSeries, {
    lineColor: color,
    topColor: `${color}55`,
    bottomColor: `${color}08`,
    lineWidth: 2,
    priceLineVisible: false,
    ...options,
  })
  s.setData(data)
  return s
}

/**
 * Marks each trade's entry (arrow: up for a long, down for a short) and exit (circle) on a series.
 * The markers' count lands on the chart element (`data-markers`), read back from the chart itself.
 */
export function markTrades(el, series, trades) {
  const markers = []
  for (const t of trades) {
    const long = t.side === 'LONG'
    markers.push(
      {
        time: t.entry_time,
        position: long ? 'belowBar' : 'aboveBar',
        shape: long ? 'arrowUp' : 'arrowDown',
        color: long ? '#2e7d32' : '#c62828',
        id: `e${t.id}`,
      },
      {
        time: t.exit_time,
        position: long ? 'aboveBar' : 'belowBar',
        shape: 'circle',
        color: t.net_pnl >= 0 ? '#2e7d32' : '#c62828',
        size: 0.6,
        id: `x${t.id}`,
      },
    )
  }
  markers.sort((a, b) => a.time - b.time)
  const plugin = createSeriesMarkers(series, markers)
  el.dataset.markers = String(plugin.markers().length)
  return plugin
}

/**
 * Keeps several charts scrolled and zoomed together. Their series share one time axis (the chart
 * route decimates them together), so logical ranges (bar indices) match exactly; a chart already
 * showing the range is left alone, which ends the echo of each change.
 */
export function syncCharts(charts) {
  for (const c of charts) {
    c.timeScale().subscribeVisibleLogicalRangeChange((range) => {
      if (!range) return
      for (const other of charts) {
        if (other === c) continue
        const current = other.timeScale().getVisibleLogicalRange()
        if (current && current.from === range.from && current.to === range.to) continue
        other.timeScale().setVisibleLogicalRange(range)
      }
    })
  }
}

/** Lets the browser paint and take input between heavy steps, so drawing never freezes the page. */
export const nextTask = () => new Promise((resolve) => setTimeout(resolve, 0))

export function fit(...charts) {
  for (const c of charts) c.timeScale().fitContent()
}
