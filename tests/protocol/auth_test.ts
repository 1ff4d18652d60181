import assert from "node:assert/strict";
import { createHmac } from "node:crypto";
import {
  authProof,
  importSecret,
  isNonce,
  isProof,
  newNonce,
  NONCE_BYTES,
  proofsEqual,
} from "../../protocol/mod.ts";

Deno.test("auth codec: a proof is HMAC-SHA256 of the role and both nonces (checked against node:crypto)", async () => {
  const secret = "s3cret ünïcode";
  const key = await importSecret(secret);
  const serverNonce = newNonce(), clientNonce = newNonce();
  for (const role of ["client", "server"] as const) {
    const expected = createHmac("sha256", new TextEncoder().encode(secret))
      .update(`em-auth-1 ${role} ${serverNonce} ${clientNonce}`)
      .digest("hex");
    assert.equal(
      await authProof(key, { role, serverNonce, clientNonce }),
      expected,
    );
  }
  const bytes = await importSecret(new TextEncoder().encode(secret));
  assert.equal(
    await authProof(bytes, { role: "client", serverNonce, clientNonce }),
    await authProof(key, { role: "client", serverNonce, clientNonce }),
  );
});

Deno.test("auth codec: the roles, the nonces and the secret each change the proof", async () => {
  const key = await importSecret("a");
  const [s, c] = [newNonce(), newNonce()];
  const proofs = new Set([
    await authProof(key, { role: "client", serverNonce: s, clientNonce: c }),
    await authProof(key, { role: "server", serverNonce: s, clientNonce: c }),
    await authProof(key, { role: "client", serverNonce: c, clientNonce: s }),
    await authProof(await importSecret("b"), {
      role: "client",
      serverNonce: s,
      clientNonce: c,
    }),
  ]);
  assert.equal(proofs.size, 4);
});

Deno.test("auth codec: nonces are fresh lower-case hex of NONCE_BYTES bytes", () => {
  const nonces = new Set(Array.from({ length: 100 }, newNonce));
  assert.equal(nonces.size, 100);
  for (const nonce of nonces) {
    assert.match(nonce, new RegExp(`^[0-9a-f]{${NONCE_BYTES * 2}}$`));
    assert.equal(isNonce(nonce), true);
  }
});

Deno.test("auth codec: malformed nonces and proofs are recognised", () => {
  const good = "0123456789abcdef".repeat(4);
  assert.equal(isNonce(good), true);
  assert.equal(isProof(good), true);
  for (
    const bad of [
      undefined,
      "",
      good.slice(1),
      good + "0",
      good.toUpperCase(),
      good.slice(1) + "g",
      good.slice(1) + " ",
    ]
  ) {
    assert.equal(isNonce(bad), false, String(bad));
    assert.equal(isProof(bad), false, String(bad));
  }
});

Deno.test("auth codec: proofsEqual is true only for equal strings", () => {
  const proof = "ab".repeat(32);
  assert.equal(proofsEqual(proof, proof), true);
  assert.equal(proofsEqual(proof, "ab".repeat(31) + "ac"), false);
  assert.equal(proofsEqual("bb" + proof.slice(2), proof), false);
  assert.equal(proofsEqual(proof.slice(2), proof), false);
  assert.equal(proofsEqual("", proof), false);
  assert.equal(proofsEqual("", ""), true);
});

Deno.test("auth codec: an empty secret is a TypeError", () => {
  assert.throws(() => importSecret(""), TypeError);
  assert.throws(() => importSecret(new Uint8Array(0)), TypeError);
});
