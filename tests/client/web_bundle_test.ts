import assert from "node:assert/strict";
import { bundleEmJs } from "../../client/web/build.ts";
import { EM_JS } from "../../server/transports/_em_js.ts";

Deno.test("em.js: the checked-in bundle is what client/web/em_web.ts bundles to (else: deno task web)", async () => {
  assert.equal(EM_JS, await bundleEmJs());
  assert.doesNotMatch(EM_JS, /^\s*import /m); // self-contained
  assert.match(EM_JS, /export \{[^}]*connect/);
});
