import { Lock, MemoryBackend } from "@dogpile-effect/core"
import { Layer } from "effect"
import { conditionalRefresh } from "./conditionalRefresh.ts"

conditionalRefresh({ name: "memory", layer: () => Layer.mergeAll(MemoryBackend.layer(), Lock.layerLocal) })
