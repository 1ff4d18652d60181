// A real browser: headless Chromium loads a page served by emd that imports /em.js, calls a verb,
// receives an agent's events, and triggers an event that wakes a real emwait process.
import assert from "node:assert/strict";
import {
  type AgentContext,
  defineAgent,
  startServer,
} from "../../server/mod.ts";
import {
  type Browser,
  closePage,
  startChromium,
} from "../_helpers/chromium.ts";
import { speedAgent } from "../../examples/speed.ts";
import { spawnTool } from "../_helpers/cli.ts";

const PAGE = `<!doctype html>
<meta charset="utf-8">
<title>em browser test</title>
<script type="module">
  import { connect, EmCallError } from "/em.js";
  const report = (result) => { window.result = result; document.title = "done"; };
  try {
    const em = await connect();
    const got = { speed: await em.call("speed/get"), events: [] };
    await em.call("speed/watch");
    const events = em.events("speed/*")[Symbol.asyncIterator]();
    document.title = "watching";
    for (let i = 0; i < 2; i++) got.events.push((await events.next()).value);
    try {
      await em.call("speed/nope");
    } catch (error) {
      got.error = error instanceof EmCallError ? error.status : String(error);
    }
    got.receivers = await em.trigger("page_done");
    report(got);
  } catch (error) {
    report({ failed: String(error?.stack ?? error) });
  }
</script>`;

Deno.test("browser: headless Chromium with pages served by emd", async (t) => {
  await using chromium = await startChromium(); // once for the file
  await t.step(
    "a page imports /em.js: verb, agent events, and a trigger that wakes emwait",
    () => testPage(chromium.browser),
  );
  await t.step(
    "examples/web/index.html shows the speed agent's live value",
    () => examplePage(chromium.browser),
  );
});

async function testPage(browser: Browser): Promise<void> {
  let context: AgentContext | undefined;
  const speed = defineAgent({
    api: "speed",
    init: (ctx) => void (context = ctx),
    verbs: {
      get: () => ({ kmh: 50 }),
      watch: (req, ctx) => req.subscribe(ctx.makeEvent("value")),
    },
  });
  await using server = await startServer({
    port: 0,
    name: "t",
    agents: [speed],
    http: {
      port: 0,
      handlers: [
        (request) =>
          new URL(request.url).pathname === "/test.html"
            ? new Response(PAGE, { headers: { "Content-Type": "text/html" } })
            : undefined,
      ],
    },
  });
  const dir = await Deno.makeTempDir({ prefix: "em_browser_" });
  const ready = `${dir}/emwait.ready`;
  await using emwait = spawnTool([
    "emwait",
    "--ready-file",
    ready,
    "127.0.0.1",
    String(server.addr.port),
    "page_done",
    "20000",
  ]);
  await waitFor(() => exists(ready), "emwait's ready file");
  const page = await browser.newPage();
  try {
    await page.goto(`http://127.0.0.1:${server.httpAddr!.port}/test.html`);
    await page.waitForFunction('document.title !== "em browser test"', {
      timeout: 20_000,
    });
    assert.equal(await page.title(), "watching");
    assert.equal(context!.makeEvent("value").push({ kmh: 60 }), 1);
    assert.equal(context!.makeEvent("value").push({ kmh: 70 }), 1);
    await page.waitForFunction('document.title === "done"', {
      timeout: 20_000,
    });
    const result = await page.evaluate(() =>
      (globalThis as unknown as { result: unknown }).result
    );
    assert.deepEqual(result, {
      speed: { kmh: 50 },
      events: [
        { event: "speed/value", data: { kmh: 60 } },
        { event: "speed/value", data: { kmh: 70 } },
      ],
      error: "unknown-verb",
      receivers: 2, // emwait and the page itself
    });
    const { code, stdout } = await emwait.result;
    assert.equal(code, 0, stdout);
  } finally {
    await closePage(page);
    await Deno.remove(dir, { recursive: true });
  }
}

async function examplePage(browser: Browser): Promise<void> {
  const html = await Deno.readTextFile(
    new URL("../../examples/web/index.html", import.meta.url),
  );
  await using server = await startServer({
    port: 0,
    name: "t",
    agents: [speedAgent({ maxHz: 50 })],
    http: {
      port: 0,
      handlers: [
        (request) =>
          new URL(request.url).pathname === "/speed.html"
            ? new Response(html, { headers: { "Content-Type": "text/html" } })
            : undefined,
      ],
    },
  });
  const page = await browser.newPage();
  try {
    await page.goto(`http://127.0.0.1:${server.httpAddr!.port}/speed.html`);
    await page.waitForFunction(
      '/^#[2-9]/.test(document.getElementById("seq").textContent)',
      { timeout: 20_000 },
    ).catch(async (error) => {
      const status = await page.$eval("#status", (e) => e.textContent);
      throw new Error(`The page never showed a value: ${status}`, {
        cause: error,
      });
    });
    const speed = await page.$eval("#speed", (element) => element.textContent);
    assert.match(speed ?? "", /^\d+\.\d$/);
    assert.equal(
      await page.$eval("#status", (element) => element.textContent),
      "subscribed to speed/kmh-2Hz",
    );
  } finally {
    await closePage(page);
  }
}

async function exists(path: string): Promise<boolean> {
  return await Deno.stat(path).then(() => true, () => false);
}

/** Polls a condition (bounded); fails naming what never happened. */
async function waitFor(
  check: () => Promise<boolean>,
  what: string,
): Promise<void> {
  for (let i = 0; i < 400; i++) {
    if (await check()) return;
    await new Promise((resolve) => setTimeout(resolve, 25));
  }
  throw new Error(`Never saw ${what}`);
}
