// The README as a newcomer meets it: every page in docs/ is linked from it.
import assert from "node:assert/strict";

const root = new URL("../", import.meta.url);

Deno.test("README: links every page in docs/", async () => {
  const readme = await Deno.readTextFile(new URL("README.md", root));
  const pages = [...Deno.readDirSync(new URL("docs/", root))]
    .filter((entry) => entry.isFile && entry.name.endsWith(".md"))
    .map((entry) => `docs/${entry.name}`).sort();
  assert.ok(pages.length > 0, "docs/ has no pages");
  const unlinked = pages.filter((page) => !readme.includes(`](${page})`));
  assert.deepEqual(unlinked, [], "pages in docs/ the README does not link");
});
