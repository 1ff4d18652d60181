// The property tests' one arbitrary character (escape_test, message_test, codec_properties_test).
import fc from "npm:fast-check@^4.10.2";

/**
 * Any Unicode scalar value (no lone surrogates: they are not text and UTF-8 cannot carry them;
 * fast-check's "binary" unit costs ~1 s to build).
 */
export const CODE_POINT: fc.Arbitrary<string> = fc.oneof(
  fc.integer({ min: 0, max: 0x7f }),
  fc.integer({ min: 0x80, max: 0xd7ff }),
  fc.integer({ min: 0xe000, max: 0x10ffff }),
).map((code) => String.fromCodePoint(code));
