/**
 * The reader behind `PythonJson.loads` (internal to the codecs package): the
 * language Python's `json.loads` reads.
 *
 * @internal
 * @since 0.1.0
 */

/** Why text was refused (with its offset). */
export class ReadError {
  constructor(readonly reason: string) {}
}

/** The reader's bounds. */
export interface ReadLimits {
  /** The deepest nesting read. */
  readonly maxDepth: number
  /** The most digits of an integer (Python's `sys.get_int_max_str_digits()`). */
  readonly maxIntDigits: number
  /** The most values (the top-level value, every list element and dict entry). */
  readonly maxItems: number
}

const NUMBER = /-?(?:0|[1-9][0-9]*)(\.[0-9]+)?([eE][-+]?[0-9]+)?/y
const ESCAPES: Record<string, string> = {
  "\"": "\"",
  "\\": "\\",
  "/": "/",
  b: "\b",
  f: "\f",
  n: "\n",
  r: "\r",
  t: "\t"
}

/** A reader of Python's `json.loads` language (RFC 8259 plus `NaN`, `Infinity`, `-Infinity`). */
export class Reader {
  at = 0
  items = 0
  constructor(readonly text: string, readonly limits: ReadLimits) {}

  fail(what: string): never {
    throw new ReadError(`${what} at offset ${this.at}`)
  }

  space(): void {
    const t = this.text
    while (this.at < t.length) {
      const c = t.charCodeAt(this.at)
      if (c !== 0x20 && c !== 0x0a && c !== 0x0d && c !== 0x09) return
      this.at++
    }
  }

  literal(word: string, value: unknown): unknown {
    if (!this.text.startsWith(word, this.at)) this.fail("invalid literal")
    this.at += word.length
    return value
  }

  value(depth: number): unknown {
    if (++this.items > this.limits.maxItems) this.fail(`more than ${this.limits.maxItems} values`)
    this.space()
    const c = this.text[this.at]
    switch (c) {
      case "{":
        return this.object(depth + 1)
      case "[":
        return this.array(depth + 1)
      case "\"":
        return this.string()
      case "t":
        return this.literal("true", true)
      case "f":
        return this.literal("false", false)
      case "n":
        return this.literal("null", null)
      case "N":
        return this.literal("NaN", Number.NaN)
      case "I":
        return this.literal("Infinity", Number.POSITIVE_INFINITY)
      default:
        if (this.text.startsWith("-Infinity", this.at)) return this.literal("-Infinity", Number.NEGATIVE_INFINITY)
        return this.number()
    }
  }

  number(): number | bigint {
    NUMBER.lastIndex = this.at
    const match = NUMBER.exec(this.text)
    if (match === null) return this.fail("expected a value")
    this.at = NUMBER.lastIndex
    const text = match[0]
    if (match[1] !== undefined || match[2] !== undefined) return Number(text)
    const digits = this.limits.maxIntDigits
    if (text.replace("-", "").length > digits) this.fail(`integer longer than ${digits} digits`)
    const n = Number(text)
    // Python's int: never -0; beyond 2^53 kept exact as a BigInt.
    if (Number.isSafeInteger(n)) return n === 0 ? 0 : n
    return BigInt(text)
  }

  string(): string {
    const t = this.text
    this.at++
    let out = ""
    let start = this.at
    while (true) {
      if (this.at >= t.length) this.fail("unterminated string")
      const c = t.charCodeAt(this.at)
      if (c === 0x22) break
      if (c < 0x20) this.fail("control character in a string")
      if (c !== 0x5c) {
        this.at++
        continue
      }
      out += t.slice(start, this.at)
      const e = t[this.at + 1] ?? ""
      if (e === "u") {
        const hex = t.slice(this.at + 2, this.at + 6)
        if (!/^[0-9a-fA-F]{4}$/.test(hex)) this.fail("invalid \\u escape")
        out += String.fromCharCode(Number.parseInt(hex, 16))
        this.at += 6
      } else {
        const plain = ESCAPES[e]
        if (plain === undefined) this.fail("invalid escape")
        out += plain
        this.at += 2
      }
      start = this.at
    }
    out += t.slice(start, this.at)
    this.at++
    return out
  }

  array(depth: number): Array<unknown> {
    if (depth > this.limits.maxDepth) this.fail(`nesting deeper than ${this.limits.maxDepth} levels`)
    this.at++
    const out: Array<unknown> = []
    this.space()
    if (this.text[this.at] === "]") {
      this.at++
      return out
    }
    while (true) {
      out.push(this.value(depth))
      this.space()
      const c = this.text[this.at++]
      if (c === "]") return out
      if (c !== ",") this.fail("expected , or ]")
    }
  }

  object(depth: number): Record<string, unknown> {
    if (depth > this.limits.maxDepth) this.fail(`nesting deeper than ${this.limits.maxDepth} levels`)
    this.at++
    const out: Record<string, unknown> = {}
    this.space()
    if (this.text[this.at] === "}") {
      this.at++
      return out
    }
    while (true) {
      this.space()
      if (this.text[this.at] !== "\"") this.fail("expected a string key")
      const key = this.string()
      this.space()
      if (this.text[this.at++] !== ":") this.fail("expected :")
      const value = this.value(depth)
      // An own "__proto__" property, as JSON.parse makes it (never the prototype).
      Object.defineProperty(out, key, { value, enumerable: true, writable: true, configurable: true })
      this.space()
      const c = this.text[this.at++]
      if (c === "}") return out
      if (c !== ",") this.fail("expected , or }")
    }
  }
}

