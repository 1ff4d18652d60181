// bench:compare's TLS section: the round-trip target is judged on the median of each turn's ratio.
import assert from "node:assert/strict";
import { TLS_ROUND_TRIP_TARGET, tlsVerdict } from "../../bench/_compare_tls.ts";

const rows = (ratio: number, turns: string) => [
  { transport: "plain", "round trip µs": 20, "each turn": "–" },
  { transport: "tls", "round trip µs": 20 * ratio, "each turn": "–" },
  { transport: "tls ÷ plain", "round trip µs": ratio, "each turn": turns },
];

Deno.test("compare tls: a TLS round trip within 2× plain is met, each turn listed", () => {
  assert.equal(TLS_ROUND_TRIP_TARGET, 2);
  assert.equal(
    tlsVerdict(rows(1.8, "1.7, 1.8, 2.4")),
    "TLS round trip ÷ plain, median of the turns' ratios: 1.8 (target ≤ 2, about): yes; each turn: 1.7, 1.8, 2.4",
  );
});

Deno.test("compare tls: above 2× is not met", () => {
  assert.match(tlsVerdict(rows(2.1, "2.1"))!, /: NO; each turn: 2\.1$/);
});

Deno.test("compare tls: a skipped workload (no openssl) gives no verdict", () => {
  assert.equal(
    tlsVerdict([{ skipped: "openssl is needed for a certificate" }]),
    undefined,
  );
});
