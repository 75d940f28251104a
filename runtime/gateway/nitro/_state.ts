import type { App } from 'h3'

/**
 * The gateway the Nitro plugin builds; the catch-all handler awaits it. `app()` is the app for the
 * next request: always the same on SQLite, the active's or the standby's on a PostgreSQL pair.
 */
export const gatewayState: { ready: Promise<{ app(): App; close(): Promise<void> }> | null } = { ready: null }
