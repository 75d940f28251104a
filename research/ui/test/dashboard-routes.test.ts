// /ui as the gateway serves it: public files (the page, its modules, the chart library) with a
// policy that keeps the page to its own gateway, the data behind the API token; and a gateway whose
// dashboard files are missing still starts and says so at /ui.
import { createHash } from 'node:crypto'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { startTestGateway, type TestGateway } from '../../../test/kit/index.ts'
import { createDashboardRoutes, dashboardRoutes, researchRoutes } from '../../index.ts'

describe('dashboard routes', () => {
  let g: TestGateway
  beforeAll(async () => {
    g = await startTestGateway({ routes: [...researchRoutes, ...dashboardRoutes], apiToken: 'ui-token' })
  })
  afterAll(async () => {
    await g?.close()
  })

  it('serves the page, its modules and the chart library without a token; the API still wants one', async () => {
    const page = await fetch(`${g.url}/ui/`)
    expect(page.status).toBe(200)
    const html = await page.text()
    expect(html).toContain('<script type="module" src="/ui/js/app.js">')
    // Scripts only from the gateway, plus the inline import map by its hash; data only from the gateway.
    const map = /<script type="importmap">([\s\S]*?)<\/script>/.exec(html)![1]
    const csp = page.headers.get('content-security-policy')!
    expect(csp).toContain(`script-src 'self' 'sha256-${createHash('sha256').update(map).digest('base64')}'`)
    expect(csp).toContain("connect-src 'self'")
    for (const path of ['/ui/js/app.js', '/ui/js/views/backtest.js', '/ui/vendor/lightweight-charts.mjs', '/ui/styles.css']) {
      const res = await fetch(`${g.url}${path}`)
      expect(res.status, path).toBe(200)
      expect(res.headers.get('content-security-policy'), path).toBeNull()
    }
    const lib = await (await fetch(`${g.url}/ui/vendor/lightweight-charts.mjs`)).text()
    expect(lib).toMatch(/Lightweight Charts/)
    expect(lib).not.toMatch(/^import /m) // one file: nothing further to fetch
    expect((await fetch(`${g.url}/api/v1/compare?ids=a,b`)).status).toBe(401)
    expect((await fetch(`${g.url}/ui/nope.js`)).status).toBe(404)
  })

  it('without its files the gateway starts and /ui says what is missing', async () => {
    const bare = await startTestGateway({ routes: [createDashboardRoutes(() => null)] })
    try {
      const res = await bare.api('/ui/')
      expect(res.status).toBe(404)
      expect(res.body).toMatchObject({ code: 'DASHBOARD_NOT_INSTALLED' })
      expect(res.body.message).toMatch(/KTRDR_UI_DIR/)
      expect((await bare.api('/api/v1/health')).status).toBe(200)
    } finally {
      await bare.close()
    }
  })
})
