/**
 * Protocol text as bytes without one buffer allocation per line: an ArrayBuffer costs about half
 * a microsecond in Deno, more than the rest of encoding a short reply or request. Short ASCII
 * texts are written into views of a shared slab, replaced once full.
 * @module
 */

/** Bytes per slab: small, so a line still queued for a slow peer keeps little else alive. */
export const TEXT_SLAB_BYTES = 4096;
/** Longer texts get a buffer of their own. */
export const MAX_SLAB_TEXT = 256;
const encoder = new TextEncoder();
let slab = new Uint8Array(TEXT_SLAB_BYTES);
let used = 0;

/**
 * `text` as UTF-8. The bytes must never be changed: a short ASCII text's bytes are a view of a
 * buffer shared with other texts (they stay valid as long as they are referenced).
 */
export function textBytes(text: string): Uint8Array {
  const length = text.length;
  if (length > MAX_SLAB_TEXT) return encoder.encode(text);
  if (used + length > TEXT_SLAB_BYTES) {
    slab = new Uint8Array(TEXT_SLAB_BYTES);
    used = 0;
  }
  const start = used;
  for (let i = 0; i < length; i++) {
    const code = text.charCodeAt(i);
    if (code > 0x7f) return encoder.encode(text); // the slab past `used` is still free
    slab[start + i] = code;
  }
  used += length;
  return slab.subarray(start, used);
}
