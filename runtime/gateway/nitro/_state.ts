import type { App } from 'h3'
import type { GatewayServices } from '../_services.ts'

/** The gateway app the Nitro plugin builds; the catch-all handler awaits it. */
export const gatewayState: { ready: Promise<{ app: App; services: GatewayServices }> | null } = { ready: null }
