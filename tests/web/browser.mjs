// tests/web/browser.mjs — what the browser tests share: Debian's Chromium launched headless
// by playwright-core, a page whose every request is recorded and refused unless it goes to the
// server under test (the pages must work offline), script errors and console errors collected
// (a Content-Security-Policy refusal shows only on the console), and check() printing one
// "ok: ..." line per passed check.
import { chromium } from "playwright-core";

export function check(condition, message) {
    if (!condition)
        throw new Error(message);
    console.log(`ok: ${message}`);
}

export async function openGuardedPage(base, viewport) {
    const browser = await chromium.launch({
        executablePath: process.env.CHROMIUM || "/usr/bin/chromium",
        // root in CI: Chromium's sandbox needs user namespaces it may not get there
        args: ["--no-sandbox", "--disable-dev-shm-usage"],
    });
    const page = await browser.newPage({ viewport });
    const foreign = [], requests = [], errors = [];
    await page.route("**/*", (route) => {
        const url = route.request().url();
        requests.push(url);
        if (url.startsWith(base) || url.startsWith("data:") || url.startsWith("blob:"))
            return route.continue();
        foreign.push(url);
        return route.abort();
    });
    page.on("pageerror", (error) => errors.push(error.message));
    page.on("console", (message) => {
        if (message.type() === "error")
            errors.push(message.text());
    });
    return { browser, page, foreign, requests, errors };
}
