// Public entry of the HTTP pieces the gateway and the hosts share: bearer check, path rule, policy router.
export { bearerToken, hasBearer, requireBearer, safeEqual } from './_bearer.ts'
export { assertCanonicalPath } from './_path.ts'
export { sendErrorJson, toH3Error } from './_errors.ts'
export { answerClientError } from './_client-error.ts'
export {
  createPolicyRouter,
  upgradeRefusal,
  type PolicyRouter,
  type RouteAuth,
  type RouteBody,
  type RouteDoc,
  type RouteInfo,
  type RouteMedia,
  type RouteOptions,
} from './_router.ts'
export { REQUEST_ID_HEADER, assignRequestId, requestIdOf } from './_request-id.ts'
export { createStaticAssets, type StaticAsset, type StaticAssets, type StaticAssetsOptions } from './_static.ts'
