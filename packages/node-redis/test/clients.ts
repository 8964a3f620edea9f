/**
 * The test suites' node-redis clients.
 *
 * `idleTimeout: "Infinity"`: Effect's `Redis` service sweeps its pool of
 * reserved connections every `idleTimeout` (60 s) of Clock time, forever; the
 * behaviour suite builds its Layers under a TestClock and jumps it by years,
 * which would replay millions of sweeps. Nothing here reserves connections.
 */
import { NodeRedis } from "@effect/platform-node"

/** Effect's `Redis` and `NodeRedis` services on one node-redis client of `url`. */
export const nodeRedis = (url: string) => NodeRedis.layer({ url, idleTimeout: "Infinity" })
