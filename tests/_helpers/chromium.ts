/**
 * Headless Chromium (Debian's /usr/bin/chromium) driven by npm:puppeteer-core, started once per
 * test file with a fresh profile and the flags COORD.md lists; no browser download.
 */
import puppeteer, { type Browser, type Page } from "npm:puppeteer-core@^24";

export type { Browser, Page };

/** How long {@link closePage} waits for puppeteer to let go of a closed page's main frame. */
const DETACH_WAIT_MS = 5_000;

/** Where Debian puts Chromium; .ci/run installs it when missing. */
export const CHROMIUM = "/usr/bin/chromium";

/** A running headless Chromium; disposing closes it and removes its profile. */
export interface HeadlessChromium extends AsyncDisposable {
  readonly browser: Browser;
}

/** Starts headless Chromium with a throwaway profile. */
export async function startChromium(): Promise<HeadlessChromium> {
  const profile = await Deno.makeTempDir({ prefix: "em_chromium_" });
  const browser = await puppeteer.launch({
    executablePath: CHROMIUM,
    headless: true,
    args: [
      "--no-sandbox",
      "--disable-background-networking",
      "--disable-component-update",
      "--disable-sync",
      "--no-first-run",
      "--disable-gpu",
      `--user-data-dir=${profile}`,
    ],
  });
  return {
    browser,
    async [Symbol.asyncDispose]() {
      await browser.close();
      await Deno.remove(profile, { recursive: true }).catch(() => {});
    },
  };
}

/**
 * Closes a page and waits until puppeteer has detached its main frame. When a page's session ends,
 * puppeteer waits a short timer for the frame to be swapped before detaching it; a test that ends
 * before then fails the op sanitizer with that timer (seen under load), so the detach is awaited.
 */
export async function closePage(page: Page): Promise<void> {
  const main = page.mainFrame();
  let onDetached!: (frame: unknown) => void;
  const detached = new Promise<void>((resolve) => {
    onDetached = (frame) => {
      if (frame === main) resolve();
    };
    page.on("framedetached", onDetached);
  });
  let timer: ReturnType<typeof setTimeout> | undefined;
  const bound = new Promise<void>((resolve) => {
    timer = setTimeout(resolve, DETACH_WAIT_MS);
  });
  try {
    await page.close();
    await Promise.race([detached, bound]);
  } finally {
    clearTimeout(timer);
    page.off("framedetached", onDetached);
  }
}
