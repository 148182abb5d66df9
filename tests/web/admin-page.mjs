// tests/web/admin-page.mjs — drives a running restable's admin UI (/admin/) in headless
// Chromium (Debian's /usr/bin/chromium, driven by playwright-core) as a person would: signs
// in, lists movies, filters rating ≥ 8, director is empty and name starts with, sorts, pages,
// opens a movie, edits its rating (and reads it back through the API), creates one whose first
// save fails validation under the field, fixes it and picks a director with the autocomplete,
// deletes it after confirming; bulk-deletes two rows and bulk-edits two others (a 422 shown in
// the dialog; a table without bulk update offers no bulk edit); creates a movie through an input of each type (defaults from
// /movie/new/, a select for choices, a password for the secret, a switch, a date, a text list,
// JSON text), reads it back through the API and edits it with the secret left empty; sees a
// stale edit refused (412) and a duplicate refused (409) as notifications; a read-only table has no create button, a token
// without write grants sees no edit or delete (nor a table it may not read), and a token the
// server refuses (401) returns to the sign-in page. Every request the page makes must go to
// the server under test, and the console must stay free of errors. A screenshot of each step
// lands in ARTIFACTS_DIR.
// usage: node admin-page.mjs BASE_URL ARTIFACTS_DIR USERNAME PASSWORD READER_TOKEN
// Prints one "ok: ..." line per check (browser.mjs); exits 1 with the reason at the first failure.
import path from "node:path";
import { check, openGuardedPage } from "./browser.mjs";

const [base, artifacts, username, password, readerToken] = process.argv.slice(2);
if (!readerToken) {
    console.error("usage: node admin-page.mjs BASE_URL ARTIFACTS_DIR USERNAME PASSWORD READER_TOKEN");
    process.exit(2);
}

let apiToken = null;
async function api(pathname, init = {}) {
    const response = await fetch(`${base}${pathname}`, {
        ...init,
        headers: { "Content-Type": "application/json", ...(apiToken ? { Authorization: `Bearer ${apiToken}` } : {}) },
    });
    const text = await response.text();
    return { status: response.status, json: text ? JSON.parse(text) : null };
}

const { browser, page, foreign, requests, errors } = await openGuardedPage(base, { width: 1280, height: 800 });
let status = 0;
let step = 0;
const shot = async (name) => {
    step++;
    const file = path.join(artifacts, `admin-${String(step).padStart(2, "0")}-${name}.png`);
    await page.screenshot({ path: file });
};
try {
    page.setDefaultTimeout(20000);
    const login = await api("/auth/login", { method: "POST", body: JSON.stringify({ username, password }) });
    apiToken = login.json.token;

    // sign in
    const response = await page.goto(`${base}/admin/`);
    check(response.status() === 200, `GET /admin/ answered ${response.status()}`);
    await page.getByLabel("Username").fill(username);
    await page.getByLabel("Password").fill(password);
    await shot("login");
    await page.getByRole("button", { name: "Sign in" }).click();
    await page.getByRole("menuitem", { name: "Movies" }).waitFor();
    check(true, "signed in with POST /auth/login");

    // list movies
    await page.getByRole("menuitem", { name: "Movies" }).click();
    await page.getByText("1-15 of 35").waitFor();
    const firstRows = await page.locator("tbody tr").count();
    check(firstRows === 15, `the movie list shows a page of 15 rows (${firstRows})`);
    check(await page.getByRole("link", { name: "Akira Kurosawa" }).first().isVisible(),
          "a director is shown by its readable name, as a link");
    await shot("list");

    // filter rating ≥ 8
    await page.getByRole("button", { name: "Add filter" }).click();
    await page.getByRole("menuitemcheckbox", { name: "Rating", exact: true }).click();
    await page.locator("input[name=rating]").fill("8");
    await page.getByText("1-1 of 1").waitFor(); // rating = 8 alone; the list settles first
    await page.getByRole("button", { name: "Add filter" }).click();
    await page.getByRole("menuitemcheckbox", { name: "Rating operator" }).click();
    await page.getByLabel("Rating operator").click();
    await page.getByRole("option", { name: "≥" }).click();
    await page.getByText("1-3 of 3").waitFor();
    const filtered = await page.locator("tbody td.column-rating").allTextContents();
    check(filtered.length === 3 && filtered.every((r) => Number(r) >= 8),
          `filtering rating ≥ 8 leaves ${filtered.join(", ")}`);
    await shot("filter-rating-gte-8");

    // sort by rating, both ways
    await page.locator("th.column-rating").getByText("Rating").click();
    await page.waitForFunction(() => {
        const cells = [...document.querySelectorAll("tbody td.column-rating")].map((c) => Number(c.textContent));
        return cells.length === 3 && cells[0] <= cells[1] && cells[1] <= cells[2];
    });
    await page.locator("th.column-rating").getByText("Rating").click();
    await page.waitForFunction(() => {
        const cells = [...document.querySelectorAll("tbody td.column-rating")].map((c) => Number(c.textContent));
        return cells.length === 3 && cells[0] >= cells[1] && cells[1] >= cells[2] && cells[0] > cells[2];
    });
    check(requests.some((url) => url.includes("__order=-rating")), "sorting asked the API for __order=-rating");
    await shot("sorted-by-rating");

    // a null filter (operator "is empty") and a text match mode, from fresh filters
    await page.goto(`${base}/admin/#/movie?filter=%7B%7D&order=ASC&page=1&perPage=15&sort=id`);
    await page.getByText("1-15 of").waitFor();
    await page.getByRole("button", { name: "Add filter" }).click();
    await page.getByRole("menuitemcheckbox", { name: "Director operator" }).click();
    await page.getByLabel("Director operator").click();
    await page.getByRole("option", { name: "is empty (null)" }).click();
    await page.getByText("1-15 of 31").waitFor();
    check(requests.some((url) => url.includes("director__operator=is_null")),
          "director is empty lists the 31 movies without one (director__operator=is_null)");
    await page.goto(`${base}/admin/#/movie?filter=%7B%7D&order=ASC&page=1&perPage=15&sort=id`);
    await page.getByRole("button", { name: "Add filter" }).click();
    await page.getByRole("menuitemcheckbox", { name: "Name", exact: true }).click();
    await page.locator("input[name=name]").fill("ra");
    await page.getByText("1-15 of 32").waitFor(); // contains: Samurai, Rashomon, the Extras
    await page.getByRole("button", { name: "Add filter" }).click();
    await page.getByRole("menuitemcheckbox", { name: "Name match" }).click();
    await page.getByLabel("Name match").click();
    await page.getByRole("option", { name: "starts" }).click();
    await page.getByText("1-1 of 1").waitFor();
    check(await page.getByRole("cell", { name: "Rashomon" }).count() === 1 &&
          requests.some((url) => url.includes("name__match=starts")),
          "name starts with \"ra\" (name__match=starts) leaves Rashomon alone");
    await shot("filter-name-starts");

    // pages (filters cleared through the URL react-admin keeps them in)
    await page.goto(`${base}/admin/#/movie?filter=%7B%7D&order=ASC&page=1&perPage=15&sort=id`);
    await page.getByText("1-15 of 35").waitFor();
    await page.getByRole("button", { name: "Go to next page" }).click();
    await page.getByText("16-30 of 35").waitFor();
    check(requests.some((url) => url.includes("__page=2")), "page 2 was asked for with __page=2");
    await page.getByRole("combobox", { name: /Rows per page/ }).click();
    await page.getByRole("option", { name: "25" }).click();
    await page.getByText("1-25 of 35").waitFor();
    check(requests.some((url) => url.includes("__page_size=25")), "the page size is the API's __page_size");
    await shot("paged");

    // open a movie
    await page.goto(`${base}/admin/#/movie?filter=%7B%7D&order=ASC&page=1&perPage=15&sort=id`);
    await page.getByRole("cell", { name: "Seven Samurai" }).click();
    await page.waitForURL(/#\/movie\/1\/show/);
    await page.getByText("Akira Kurosawa").waitFor();
    check(!(await page.getByText("k1").count()), "the secret api_key is never shown");
    await shot("show");

    // edit its rating and see it through the API
    await page.getByRole("link", { name: "Edit" }).click();
    await page.locator("input[name=rating]").fill("10");
    await shot("edit");
    await page.getByRole("button", { name: "Save" }).click();
    await page.waitForURL(/#\/movie\/1\/show/);
    const edited = await api("/movie/1/");
    check(edited.json.rating === 10, `the API shows the new rating (${edited.json.rating})`);

    // create: a validation error under its field, fixed, a director from the autocomplete
    await page.goto(`${base}/admin/#/movie/create`);
    await page.locator("input[name=name]").fill("Ran");
    await page.locator("input[name=contact]").fill("not-an-email");
    await page.getByRole("button", { name: "Save" }).click();
    const fieldError = page.locator(".ra-input-contact .MuiFormHelperText-root");
    await fieldError.waitFor();
    const errorText = await fieldError.textContent();
    check(/email/i.test(errorText), `the 422 is shown under the contact field: "${errorText}"`);
    await shot("create-validation-error");
    await page.locator("input[name=contact]").fill("ran@example.com");
    const searched = page.waitForRequest((request) => request.url().includes("/director/ids/?search=Kuro"));
    await page.getByLabel("Director").fill("Kuro");
    await searched;
    await page.waitForFunction(() => {
        const options = [...document.querySelectorAll("[role=option]")].map((o) => o.textContent);
        return options.length === 1 && options[0] === "Akira Kurosawa";
    });
    check(true, "the director autocomplete searched /director/ids/?search=Kuro and offers only Akira Kurosawa");
    await shot("create-director-autocomplete");
    await page.getByRole("option", { name: "Akira Kurosawa" }).click();
    await page.getByRole("button", { name: "Save" }).click();
    await page.waitForURL(/#\/movie\/\d+\/show/);
    const created = Number(page.url().match(/#\/movie\/(\d+)\/show/)[1]);
    const row = await api(`/movie/${created}/`);
    check(row.json.name === "Ran" && row.json.director === 1 && row.json.contact === "ran@example.com",
          `the new movie ${created} is in the API with director 1`);
    await shot("created");

    // delete with confirmation
    await page.getByRole("button", { name: "Delete" }).click();
    await page.getByRole("dialog").waitFor();
    await shot("delete-confirmation");
    await page.getByRole("button", { name: "Confirm" }).click();
    await page.waitForURL(/#\/movie(\?|$)/);
    const gone = await api(`/movie/${created}/`);
    check(gone.status === 404, `after confirming, the API answers 404 for movie ${created}`);

    // bulk delete (the table allows it): two rows picked, confirmed, one DELETE /movie/?__ids=
    await page.goto(`${base}/admin/#/movie?filter=%7B%7D&order=ASC&page=1&perPage=15&sort=id`);
    for (const name of ["Extra 01", "Extra 02"])
        await page.getByRole("row", { name: new RegExp(name) }).getByRole("checkbox").check();
    await page.getByRole("button", { name: "Delete" }).click();
    await page.getByRole("dialog").waitFor();
    await shot("bulk-delete-confirmation");
    const bulk = page.waitForRequest((request) => request.method() === "DELETE" &&
                                     /\/movie\/\?__ids=\d+,\d+$/.test(request.url()));
    await page.getByRole("button", { name: "Confirm" }).click();
    await bulk;
    await page.getByText("1-15 of 33").waitFor();
    const extras = await api("/movie/?name=Extra%200&name__match=starts&__visible_fields=name");
    check(!extras.json.rows.some((r) => r.name === "Extra 01" || r.name === "Extra 02"),
          "bulk delete removed the two picked rows with one DELETE /movie/?__ids=");

    // bulk edit (the table allows bulk update): two rows picked, one column and its value set
    // in the dialog, one PATCH /movie/?__ids=
    for (const name of ["Extra 03", "Extra 04"])
        await page.getByRole("row", { name: new RegExp(name) }).getByRole("checkbox").check();
    await page.getByRole("button", { name: "Bulk edit" }).click();
    const bulkDialog = page.getByRole("dialog", { name: "Set one column on 2 rows" });
    await bulkDialog.waitFor();
    await bulkDialog.getByLabel("Column").click();
    await page.getByRole("option", { name: "Rating", exact: true }).click();
    await page.getByRole("listbox").waitFor({ state: "detached" });
    await bulkDialog.locator("input[name=rating]").fill("4");
    await shot("bulk-edit-dialog");
    const bulkPatch = page.waitForRequest((request) => request.method() === "PATCH" &&
                                          /\/movie\/\?__ids=\d+,\d+$/.test(request.url()));
    await bulkDialog.getByRole("button", { name: "Update" }).click();
    await bulkPatch;
    await bulkDialog.waitFor({ state: "detached" });
    await page.getByText("2 rows updated").waitFor();
    await page.waitForFunction(() => [...document.querySelectorAll("tbody tr")].filter((row) =>
        /Extra 0[34]/.test(row.textContent) && row.querySelector("td.column-rating")?.textContent === "4")
        .length === 2);
    const rated4 = await api("/movie/?rating=4&__visible_fields=name&__order=name");
    check(rated4.json.rows.map((r) => r.name).join(",") === "Extra 03,Extra 04",
          `bulk edit set rating 4 on exactly the two picked rows with one PATCH /movie/?__ids= ` +
          `(rating 4: ${rated4.json.rows.map((r) => r.name).join(", ")})`);
    await page.getByRole("cell", { name: "Extra 03" }).scrollIntoViewIfNeeded(); // the toolbar scrolled right
    await shot("bulk-edited");
    // a value the server refuses (422) is shown under its input in the dialog
    for (const name of ["Extra 03", "Extra 04"])
        await page.getByRole("row", { name: new RegExp(name) }).getByRole("checkbox").check();
    await page.getByRole("button", { name: "Bulk edit" }).click();
    await bulkDialog.getByLabel("Column").click();
    await page.getByRole("option", { name: "Contact", exact: true }).click();
    await page.getByRole("listbox").waitFor({ state: "detached" });
    await bulkDialog.locator("input[name=contact]").fill("not-an-email");
    await bulkDialog.getByRole("button", { name: "Update" }).click();
    const bulkError = bulkDialog.locator(".ra-input-contact .MuiFormHelperText-root");
    await bulkError.waitFor();
    const bulkErrorText = await bulkError.textContent();
    await shot("bulk-edit-422");
    await bulkDialog.getByRole("button", { name: "Cancel" }).click();
    await bulkDialog.waitFor({ state: "detached" });
    const contacts = await api("/movie/?contact__operator=not_null&__visible_fields=name&__page_size=100");
    check(/email/i.test(bulkErrorText) && !contacts.json.rows.some((r) => /^Extra/.test(r.name)),
          `a bulk edit the server refuses (422) shows "${bulkErrorText}" under the value; nothing was written`);

    // a table without bulk update offers no bulk edit (the director table allows bulk delete)
    await page.goto(`${base}/admin/#/director`);
    await page.getByRole("row", { name: /Agnes Varda/ }).getByRole("checkbox").check();
    await page.getByRole("button", { name: "Delete" }).waitFor();
    check(await page.getByRole("button", { name: "Bulk edit" }).count() === 0,
          "a table without allow_bulk_update has bulk delete but no Bulk edit");
    await page.getByRole("row", { name: /Agnes Varda/ }).getByRole("checkbox").uncheck();

    // a movie with an input of each type: defaults from /movie/new/, a select for choices, a
    // password for the secret, a switch, a date, a text list, JSON text
    await page.goto(`${base}/admin/#/movie/create`);
    const input = (name) => page.locator(`[name=${name}]`);
    await input("name").fill("Dreams");
    check(await input("rating").inputValue() === "0" && !(await input("released").isChecked()),
          "the create form starts from /movie/new/'s defaults (rating 0, released unchecked)");
    check(/^[0-9a-f-]{36}$/.test(await input("code").inputValue()), "and the uuid4 default, evaluated");
    await page.getByLabel("Genre").click();
    const genres = await page.getByRole("option").allTextContents();
    check(genres.join(",") === "(none),drama,comedy,sci-fi",
          `genre (choices) is a select offering ${genres.join(", ")}`);
    await page.getByRole("option", { name: "drama" }).click();
    check(await input("api_key").getAttribute("type") === "password", "api_key (secret) is a password input");
    await input("api_key").fill("dreams-key-1");
    check(await input("released").getAttribute("type") === "checkbox", "released (boolean) is a switch");
    await input("released").check();
    check(await input("release_date").getAttribute("type") === "date", "release_date is a date input");
    await input("release_date").fill("1990-05-11");
    const tagInput = page.locator(".ra-input-tags input");
    for (const tag of ["dream", "anthology"]) {
        await tagInput.fill(tag);
        await tagInput.press("Enter");
    }
    // typed key by key: the box must keep "null" and the spacing as typed
    await input("extra").pressSequentially('{"segments": 8, "note": null}');
    check(await input("extra").inputValue() === '{"segments": 8, "note": null}',
          "extra (jsonb) keeps the JSON text as typed");
    await shot("create-every-type");
    await page.getByRole("button", { name: "Save" }).click();
    await page.waitForURL(/#\/movie\/\d+\/show/);
    const dreamsId = Number(page.url().match(/#\/movie\/(\d+)\/show/)[1]);
    const dreams = (await api(`/movie/${dreamsId}/`)).json;
    check(dreams.genre === "drama" && dreams.released === true && dreams.release_date === "1990-05-11" &&
          JSON.stringify(dreams.tags) === '["dream","anthology"]' &&
          JSON.stringify(dreams.extra) === JSON.stringify({ note: null, segments: 8 }) &&
          dreams.rating === 0 && !("api_key" in dreams),
          `movie ${dreamsId} reads back through the API with genre, released, release_date, tags and extra ` +
          `(${JSON.stringify(dreams)})`);
    await page.getByText("anthology").waitFor();
    check(await page.getByText("dreams-key-1").count() === 0 && await page.getByText("Api Key").count() === 0,
          "its page never shows the secret api_key");
    await shot("created-every-type");
    await page.getByRole("link", { name: "Edit" }).click();
    await input("api_key").waitFor();
    check(await input("api_key").inputValue() === "" && await input("api_key").getAttribute("type") === "password",
          "on edit, api_key is an empty password input");
    check(await input("extra").inputValue() === JSON.stringify(dreams.extra) &&
          await input("release_date").inputValue() === "1990-05-11" && await input("released").isChecked() &&
          (await page.locator(".ra-input-tags .MuiChip-label").allTextContents()).join(",") === "dream,anthology",
          "the edit form shows extra, release_date, released and the tags as saved");
    await input("rating").fill("8");
    await shot("edit-every-type");
    await page.getByRole("button", { name: "Save" }).click();
    await page.waitForURL(/#\/movie\/\d+\/show/);
    check((await api(`/movie/${dreamsId}/`)).json.rating === 8,
          `movie ${dreamsId} saved again with its api_key left empty (kept: test_admin.py reads it in the database)`);

    // 412: the row changed (through the API) after the form read it
    await page.goto(`${base}/admin/#/movie/2`);
    await page.locator("input[name=rating]").waitFor();
    await api("/movie/2/", { method: "PATCH", body: JSON.stringify({ rating: 6 }) });
    await page.locator("input[name=rating]").fill("7");
    await page.getByRole("button", { name: "Save" }).click();
    const stale = page.getByText(/has changed since the version in If-Match/);
    await stale.waitFor();
    check((await api("/movie/2/")).json.rating === 6, "a stale edit is refused (412) and shown; nothing was written");
    await shot("edit-412");

    // 409: a unique violation is a notification
    await page.goto(`${base}/admin/#/director/create`);
    await page.locator("input[name=name]").fill("Agnes Varda");
    await page.getByRole("button", { name: "Save" }).click();
    await page.getByText(/unique constraint/).waitFor();
    check(true, "a duplicate director name (409) is shown as a notification");
    await shot("create-409");

    // a row's referencing tables are linked from its page
    await page.goto(`${base}/admin/#/director/1/show`);
    await page.getByText("movie rows whose director is this one").click();
    await page.getByText("Seven Samurai").waitFor();
    check(!(await page.getByText("Cleo from 5 to 7").count()), "the referencing rows are listed, filtered");

    // a read-only table has no create button
    await page.getByRole("menuitem", { name: "Studios" }).click();
    await page.getByRole("cell", { name: "Toho" }).waitFor();
    check(await page.getByRole("link", { name: "Create" }).count() === 0, "the read-only studio table has no Create");
    check(await page.getByRole("link", { name: "Edit" }).count() === 0, "nor Edit");
    await shot("read-only-table");

    // sign out; a token without write grants sees no edit, create or delete
    await page.getByRole("button", { name: "Profile" }).click();
    await page.getByRole("menuitem", { name: "Logout" }).click();
    await page.getByRole("textbox", { name: "Token" }).fill(readerToken);
    await page.getByRole("button", { name: "Use token" }).click();
    await page.getByRole("menuitem", { name: "Movies" }).click();
    await page.getByRole("cell", { name: "Seven Samurai" }).waitFor();
    check(await page.getByRole("link", { name: "Edit" }).count() === 0, "the reader's list has no Edit");
    check(await page.getByRole("link", { name: "Create" }).count() === 0, "nor Create");
    check(await page.getByRole("menuitem", { name: "Studios" }).count() === 0,
          "the studio table, which the reader may not read, is not in the menu");
    check(await page.locator("tbody input[type=checkbox]").count() === 0,
          "nor bulk selection (no bulk delete, no bulk edit)");
    await shot("reader-list");
    await page.getByRole("cell", { name: "Seven Samurai" }).click();
    await page.waitForURL(/#\/movie\/1\/show/);
    await page.getByText("Akira Kurosawa").waitFor();
    check(await page.getByRole("link", { name: "Edit" }).count() === 0 &&
          await page.getByRole("button", { name: "Delete" }).count() === 0, "the reader's movie page has no Edit or Delete");
    await shot("reader-show");

    // a token the server refuses (401) returns to the sign-in page
    const forged = ["{\"alg\":\"HS256\",\"typ\":\"JWT\"}",
                    "{\"sub\":\"mallory\",\"roles\":[\"editor\"],\"exp\":4102444800}"]
        .map((part) => Buffer.from(part).toString("base64url")).join(".") + ".c2lnbmF0dXJl";
    await page.evaluate((token) => sessionStorage.setItem("restable-admin-token", token), forged);
    await page.goto(`${base}/admin/#/movie`);
    await page.getByRole("button", { name: "Use token" }).waitFor();
    check(await page.evaluate(() => sessionStorage.getItem("restable-admin-token")) === null,
          "a 401 forgets the token and returns to the sign-in page");
    await shot("401-back-to-login");

    check(foreign.length === 0, `no request left the server (${foreign.join(", ") || "none"}; ${requests.length} requests)`);
    // Chromium logs every non-2xx answer to the console as "Failed to load resource"; the 422,
    // 412, 409 and 401 this test provokes on purpose are expected, any other entry is an error
    const provokedStatus = /Failed to load resource: .* status of (422|412|409|401)/;
    const provoked = new Set(errors.map((e) => e.match(provokedStatus)?.[1]).filter(Boolean));
    const unexpected = errors.filter((e) => !provokedStatus.test(e));
    check(unexpected.length === 0 && provoked.size === 4,
          `no console errors besides the provoked ${[...provoked].join(", ")} (${unexpected.join("; ") || "none"})`);
    console.log(`screenshots: ${artifacts}/admin-*.png`);
} catch (error) {
    console.error(`failed: ${error.message}`);
    await page.screenshot({ path: path.join(artifacts, "admin-failure.png") }).catch(() => {});
    status = 1;
} finally {
    await browser.close();
}
process.exit(status);
