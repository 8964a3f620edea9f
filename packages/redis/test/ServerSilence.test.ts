import { assert, describe, it } from "@effect/vitest"
import * as ServerSilence from "../src/ServerSilence.ts"

/** A probe the test settles by hand. */
const manualProbe = () => {
  const sent: Array<{ resolve: (v: unknown) => void; reject: (e: unknown) => void }> = []
  const probe = () => new Promise<unknown>((resolve, reject) => void sent.push({ resolve, reject }))
  return { sent, probe }
}
const turn = () => new Promise<void>((resolve) => setImmediate(resolve))

describe("ServerSilence", () => {
  it("fails commands at once while a command has waited a whole bound unanswered; one probe at a time; a reply ends it", async () => {
    const { sent, probe } = manualProbe()
    const silence = ServerSilence.make(1000, probe)
    assert.strictEqual(silence.beforeSend(0), undefined, "sent")
    assert.strictEqual(silence.beforeSend(999), undefined, "not a whole bound yet")
    assert.strictEqual(silence.beforeSend(1000), 1000, "known silent")
    assert.strictEqual(silence.beforeSend(1200), 1200, "still")
    assert.strictEqual(sent.length, 1, "one probe at a time")
    sent[0]!.resolve("PONG")
    await turn()
    assert.strictEqual(silence.beforeSend(1300), undefined, "the probe's reply ended the silence")
  })

  it("a probe left unanswered renews the evidence; evidence older than two bounds lets the next command test again", async () => {
    const { sent, probe } = manualProbe()
    const silence = ServerSilence.make(1000, probe)
    silence.beforeSend(0)
    assert.strictEqual(silence.beforeSend(1500), 1500)
    sent[0]!.reject(new Error("Command timed out after 1000 ms"))
    await turn()
    assert.strictEqual(silence.beforeSend(2600), 1100, "evidence from the probe sent at 1500")
    assert.strictEqual(sent.length, 2)
    sent[1]!.reject(new Error("Command timed out after 1000 ms"))
    await turn()
    assert.strictEqual(silence.beforeSend(10_000), undefined, "old evidence: this command is the test")
    assert.strictEqual(silence.beforeSend(10_500), undefined, "within its bound")
    assert.strictEqual(silence.beforeSend(11_000), 1000, "unanswered a whole bound: silent again")
  })

  it("a Redis error reply counts as an answer; a reconnection resets", async () => {
    const { sent, probe } = manualProbe()
    const silence = ServerSilence.make(100, probe)
    silence.beforeSend(0)
    assert.strictEqual(silence.beforeSend(150), 150)
    sent[0]!.reject(Object.assign(new Error("OOM command not allowed"), { name: "ReplyError" }))
    await turn()
    assert.strictEqual(silence.beforeSend(160), undefined)
    assert.strictEqual(silence.beforeSend(300), 140)
    silence.reset()
    assert.strictEqual(silence.beforeSend(301), undefined)
    assert.strictEqual(ServerSilence.never.beforeSend(1e9), undefined)
  })
})
