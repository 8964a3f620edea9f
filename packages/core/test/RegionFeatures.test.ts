import { CacheKey, Lock, MemoryBackend } from "@dogpile-effect/core"
import { Layer } from "effect"
import { regionFeatures } from "./regionFeatures.ts"

const memory = () => Layer.mergeAll(MemoryBackend.layer(), Lock.layerLocal)

regionFeatures({ name: "memory, plain keys", layer: memory })
regionFeatures({ name: "memory, hash keys", layer: memory, key: (name) => CacheKey.hash("bucket", name), xfetchPeriods: 2 })
