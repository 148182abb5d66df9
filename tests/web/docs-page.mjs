// tests/web/docs-page.mjs — opens a running restable's /docs in headless Chromium (Debian's
// /usr/bin/chromium, driven by playwright-core) as a person would: the page loads with no
// request leaving the server (no CDN), lists the movie routes, and "Try it out" + "Execute" on
// GET /movie/ shows rows. Saves a screenshot of the page and of the executed call.
// usage: node docs-page.mjs http://127.0.0.1:PORT ARTIFACTS_DIR
// Prints one "ok: ..." line per check; exits 1 with the reason at the first failure.
import path from "node:path";
import { check, openGuardedPage } from "./browser.mjs";

const [base, artifacts] = process.argv.slice(2);
if (!base || !artifacts) {
    console.error("usage: node docs-page.mjs BASE_URL ARTIFACTS_DIR");
    process.exit(2);
}

const { browser, page, foreign, errors } = await openGuardedPage(base, { width: 1280, height: 1600 });
let status = 0;
try {

    const response = await page.goto(`${base}/docs`, { waitUntil: "networkidle" });
    check(response.status() === 200, `GET /docs answered ${response.status()}`);
    await page.waitForSelector(".opblock", { timeout: 30000 });
    check(foreign.length === 0, `no request left the server (${foreign.join(", ") || "none"})`);
    check(errors.length === 0, `no script errors (${errors.join("; ") || "none"})`);
    const title = await page.textContent(".info .title");
    check(title && title.includes("restable"), `the title is shown: ${title}`);

    const paths = await page.$$eval(".opblock-summary-path", (nodes) =>
        nodes.map((node) => node.getAttribute("data-path") || node.textContent));
    for (const wanted of ["/movie/", "/movie/{pk}/", "/movie/count/"])
        check(paths.includes(wanted), `the movie route ${wanted} is listed`);
    await page.screenshot({ path: path.join(artifacts, "docs-page.png"), fullPage: false });

    const operation = page.locator("#operations-movie-list_movie");
    await operation.locator(".opblock-summary").click();
    await operation.locator("button.try-out__btn").click();
    await operation.locator("button.execute").click();
    const body = operation.locator(".live-responses-table tbody .response-col_description pre").first();
    await body.waitFor({ timeout: 30000 });
    const code = (await operation.locator(".live-responses-table tbody .response-col_status")
        .first().textContent()).trim();
    check(code === "200", `Execute on GET /movie/ answered ${code}`);
    const text = await body.textContent();
    const rows = JSON.parse(text).rows;
    check(Array.isArray(rows) && rows.length > 0, `it returned ${rows.length} rows`);
    await operation.scrollIntoViewIfNeeded();
    await page.screenshot({ path: path.join(artifacts, "docs-try-it-out.png"), fullPage: false });
    console.log(`screenshots: ${artifacts}/docs-page.png, ${artifacts}/docs-try-it-out.png`);
} catch (error) {
    console.error(`failed: ${error.message}`);
    status = 1;
} finally {
    await browser.close();
}
process.exit(status);
