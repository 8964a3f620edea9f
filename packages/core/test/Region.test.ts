import { CacheKey, Codec, Lock, MemoryBackend } from "@dogpile-effect/core"
import { Layer } from "effect"
import { behaviourSuite } from "./behaviour.ts"

const memory = () => Layer.mergeAll(MemoryBackend.layer(), Codec.layerJson, Lock.layerLocal)

behaviourSuite({ name: "memory, plain keys", layer: memory })
behaviourSuite({ name: "memory, hash keys", layer: memory, key: (name) => CacheKey.hash("bucket", name) })
