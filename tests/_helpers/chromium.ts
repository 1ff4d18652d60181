/**
 * Headless Chromium (Debian's /usr/bin/chromium) driven by npm:puppeteer-core, started once per
 * test file with a fresh profile and the flags COORD.md lists; no browser download.
 */
import puppeteer, { type Browser } from "npm:puppeteer-core@^24";

export type { Browser };

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
