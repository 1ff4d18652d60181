// The dashboard in a real browser (headless Chromium through npm:puppeteer-core): the page served
// by emd renders, shows the server's name, and its numbers move after triggers, live over em's own
// WebSocket. With EM_UPDATE_SCREENSHOT=1 it also writes docs/dashboard.png (shown in the README).
import assert from "node:assert/strict";
import {
  connect,
  defineAgent,
  type EmClient,
  startServer,
} from "../../../mod.ts";
import {
  type Browser,
  closePage,
  startChromium,
} from "../../_helpers/chromium.ts";
import { RawPeer } from "../../_helpers/wire.ts";

const SECRET = "dashboard-secret";
const SCREENSHOT = new URL("../../../docs/dashboard.png", import.meta.url);

const speed = defineAgent({
  api: "speed",
  init(ctx) {
    ctx.makeEvent("kmh");
  },
  verbs: {
    subscribe: (req, ctx) => req.subscribe(ctx.events.get("speed/kmh")!),
    now: () => ({ kmh: 42 }),
  },
});

Deno.test("dashboard: in headless Chromium", async (t) => {
  await using chromium = await startChromium(); // one browser for the file
  await t.step(
    "renders the server's name, and its numbers move after triggers",
    () => rendersAndMoves(chromium.browser),
  );
  await t.step(
    "with a shared secret: 401 without the token, live with ?token=",
    () => opensWithToken(chromium.browser),
  );
});

async function rendersAndMoves(browser: Browser): Promise<void> {
  await using server = await startServer({
    port: 0,
    name: "ci_runner_7",
    version: "0.1.0",
    agents: [speed],
    http: { port: 0 },
  });
  const port = server.addr.port;
  // Some state worth showing: waiters, a subscription, an agent subscriber, a lock with a queue.
  await using waiter = await connect({ port, receive: true });
  await using subscriber = await connect({ port, receive: true });
  await subscriber.call("speed/subscribe");
  await using builds = subscriber.subscribe("build_*");
  await builds.ready;
  await using holder = await RawPeer.greeted(
    port,
    "H1.2\nF1\nl1,deploy_ok\nk2,db,1,1\nb3,start,3",
  );
  await holder.roundTrip();
  await using queued = await RawPeer.greeted(port, "H1.2\nF1\nk4,db,1,1");
  await queued.roundTrip();
  await using sender = await connect({ port });
  await waiter.flush();

  const page = await browser.newPage();
  const errors: string[] = [];
  page.on("pageerror", (error) => errors.push(String(error)));
  await page.setViewport({ width: 1280, height: 900 });
  await page.goto(`http://127.0.0.1:${server.httpAddr!.port}/`);
  await page.waitForFunction( // in the page: a string, Deno's checker knows no DOM
    `document.getElementById("server-name")?.textContent === "ci_runner_7"`,
    { timeout: 15_000 },
  );
  assert.match(await page.content(), /<h1 id="server-name">ci_runner_7<\/h1>/);
  const triggers = () => page.$eval("#triggers-total", (e) => e.textContent);
  const before = await triggers();
  for (let i = 0; i < 40; i++) {
    await sender.trigger(i % 4 ? "build_done" : "tests_passed");
  }
  await sender.trigger("build_log", { step: "link", ok: true });
  await sender.flush();
  await page.waitForFunction(
    `document.getElementById("triggers-total")?.textContent !== ${
      JSON.stringify(before)
    } &&
     document.getElementById("events")?.textContent.includes("build_done") &&
     document.getElementById("events")?.textContent.includes('"step":"link"')`,
    { timeout: 15_000 },
  );
  assert.notEqual(await triggers(), before);
  await page.type("#event-filter", "tests_*"); // the filter keeps only matching names
  const names = await page.$$eval(
    "#events tr td:nth-child(2)",
    (cells) => cells.map((cell) => cell.textContent),
  );
  assert.ok(names.length > 0);
  assert.deepEqual([...new Set(names)], ["tests_passed"]);
  await page.$eval("#event-filter", (input) => { // cleared again for the screenshot
    const field = input as unknown as EventTarget & { value: string };
    field.value = "";
    field.dispatchEvent(new Event("input"));
  });
  const agents = await page.$eval("#agents", (e) => e.textContent);
  assert.match(agents!, /speed/);
  const locks = await page.$eval("#semaphores", (e) => e.textContent);
  assert.match(locks!, new RegExp(`db.*${holder.name}.*${queued.name}`));
  await page.waitForFunction( // a second report: the rate and the chart are drawn
    `document.querySelectorAll("#chart polyline").length === 2`,
    { timeout: 15_000 },
  );
  const update = Deno.env.get("EM_UPDATE_SCREENSHOT") === "1";
  if (update) await traffic(sender, 10); // ten seconds of traffic give the chart a shape
  const shot = await page.screenshot({ fullPage: true });
  assert.deepEqual([...shot.subarray(1, 4)], [0x50, 0x4e, 0x47]); // "PNG"
  if (update) await Deno.writeFile(SCREENSHOT, shot);
  assert.deepEqual(errors, []);
  await closePage(page);
}

async function opensWithToken(browser: Browser): Promise<void> {
  await using server = await startServer({
    port: 0,
    name: "guarded",
    secret: SECRET,
    http: { port: 0 },
  });
  const base = `http://127.0.0.1:${server.httpAddr!.port}/`;
  const page = await browser.newPage();
  const refused = await page.goto(base);
  assert.equal(refused?.status(), 401);
  await page.goto(`${base}?token=${SECRET}`);
  await page.waitForFunction(
    `document.getElementById("server-name")?.textContent === "guarded" &&
     document.getElementById("link")?.textContent === "live"`,
    { timeout: 15_000 },
  );
  await closePage(page);
}

/** Triggers a varying trickle of events for `seconds` (only for the README's screenshot). */
async function traffic(sender: EmClient, seconds: number): Promise<void> {
  for (let tick = 0; tick < seconds * 5; tick++) {
    const burst = 20 + 15 * Math.round(2 + 2 * Math.sin(tick / 6));
    for (let i = 0; i < burst; i++) {
      await sender.trigger(i % 5 ? "build_done" : "tests_passed");
    }
    await sender.trigger("build_log", { step: "link", ok: true, tick });
    await new Promise((resolve) => setTimeout(resolve, 200));
  }
}
