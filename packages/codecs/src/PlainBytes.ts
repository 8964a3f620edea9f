/**
 * Plain `Uint8Array` views of stored bytes (internal to the binary codecs).
 *
 * @since 0.1.0
 */

/**
 * A plain `Uint8Array` view of `bytes`, so that byte strings decode as
 * `Uint8Array` rather than `Buffer` even when the store hands back Buffers.
 * Shares memory with `bytes`; no copy.
 *
 * @since 0.1.0
 */
export const plainView = (bytes: Uint8Array): Uint8Array =>
  Object.getPrototypeOf(bytes) === Uint8Array.prototype
    ? bytes
    : new Uint8Array(bytes.buffer, bytes.byteOffset, bytes.byteLength)
