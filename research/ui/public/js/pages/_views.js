// Research pages load their view module together with what it imports (the chart wrapper and
// lightweight-charts), side by side instead of one after the other.
export const loadView = (name) =>
  Promise.all([import(`ktrdr/views/${name}.js`), import('ktrdr/charts.js'), import('lightweight-charts')]).then(([view]) => view)
