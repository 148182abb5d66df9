"""Keyset pagination (SPEC §5 "Keyset pagination"): GET /T/?__cursor= walks a table page by
page under any __order (ascending, descending, mixed, nullable columns with NULLs, duplicates,
filters) and the pages add up to the whole ordered list, with no duplicate and no gap, even when
rows come and go between pages. Cursors are signed and bound to their table and order: altered,
undecodable, oversized or foreign ones are 400s naming __cursor. The next page is in
next_cursor and in a Link header that is the same request with __cursor replaced."""
import base64
import json
import urllib.parse

from harness import Server, expect, expect_error, expect_status

SECRET = "integration-test-secret-that-is-long-enough-0123456789"
# a NOT NULL integer with duplicates, then nullable columns of most types
COLUMNS = {"name": {"type": "varchar", "length": 40}, "grp": {"type": "integer"}}
for column, column_type in [("score", "numeric"), ("ratio", "double"), ("at", "timestamptz"),
                            ("day", "date"), ("uid", "uuid"), ("flag", "boolean"),
                            ("label", "text"), ("big", "bigint")]:
    COLUMNS[column] = {"type": column_type, "null": True}
CONFIG = {
    "auth": {"jwt": {"secret": SECRET, "algorithm": "HS256"},
             "default": {"read": "public", "write": "public", "delete": "public"}},
    "tables": {
        "item": {"columns": COLUMNS, "page_size": 5, "max_page_size": 100},
        "churn": {"columns": {"grp": {"type": "integer"}}, "page_size": 4},
    },
}
ROWS = 61

# Values chosen so that neighbours differ only in their last digit: a value that did not
# round-trip exactly through the cursor would skip or repeat rows.
SEED = f"""
INSERT INTO item (name, grp, score, ratio, at, day, uid, flag, label, big)
SELECT 'n' || (i % 9), i % 4,
       CASE WHEN i % 5 = 0 THEN NULL ELSE 1.000000000000000000001 * (i % 7) + i % 3 * 1e-21 END,
       CASE WHEN i % 6 = 0 THEN NULL ELSE 0.1 * (i % 8) + 0.2 END,
       CASE WHEN i % 4 = 0 THEN NULL
            ELSE timestamptz '2024-02-29 23:59:59.999990+00' + (i % 11) * interval '1 microsecond' END,
       CASE WHEN i % 7 = 0 THEN NULL ELSE date '2024-01-01' + i % 5 END,
       CASE WHEN i % 3 = 0 THEN NULL
            ELSE ('00000000-0000-0000-0000-0000000000' || lpad(to_hex(i % 13), 2, '0'))::uuid END,
       CASE WHEN i % 8 = 0 THEN NULL ELSE i % 2 = 0 END,
       CASE WHEN i % 2 = 0 THEN NULL ELSE 'label ' || (i % 6) END,
       CASE WHEN i % 9 = 0 THEN NULL ELSE 9007199254740993 + i % 4 END
FROM generate_series(1, {ROWS}) AS i
"""


def setup():
    server = Server(CONFIG)
    server.sql(SEED)
    server.sql("INSERT INTO churn (grp) SELECT i % 3 FROM generate_series(1, 20) AS i")
    return server.start()


def teardown(server):
    expect(server.stop() == 0)


def page(server, path):
    response = server.get(path)
    expect_status(response, 200)
    body = response.json
    expect(set(body) == {"rows", "next_cursor"}, body)
    return response, body


def walk(server, query, table="item"):
    """Every row of the list under query, following next_cursor; returns (ids, pages)."""
    ids, pages, cursor = [], 0, ""
    while True:
        separator = "&" if query else ""
        response, body = page(server, f"/{table}/?{query}{separator}__cursor={cursor}")
        pages += 1
        expect(pages < 200, "the walk does not end")
        ids += [row["id"] for row in body["rows"]]
        cursor = body["next_cursor"]
        if cursor is None:
            expect(response.header("Link") is None, response.header("Link"))
            return ids, pages
        expect(response.header("Link") is not None, "no Link beside next_cursor")


def ordered_ids(server, order_sql, where="true", table="item"):
    text = server.sql(f"SELECT id FROM {table} WHERE {where} ORDER BY {order_sql}")
    return [int(line) for line in text.split()]


def check_walk(server, query, order_sql, where="true", page_size=None):
    ids, pages = walk(server, query)
    expect(len(ids) == len(set(ids)), f"duplicates under {query}: {ids}")
    expected = ordered_ids(server, order_sql, where)
    expect(ids == expected, f"{query}:\n got      {ids}\n expected {expected}")
    if page_size:
        expect(pages == len(expected) // page_size + 1, (query, pages, len(expected)))


def test_default_order_walks_the_whole_table_newest_first(server):
    check_walk(server, "", "id DESC", page_size=5)


def test_ascending_with_duplicates_in_the_order_column(server):
    check_walk(server, "__order=grp&__page_size=7", "grp ASC, id ASC", page_size=7)


def test_descending_and_mixed_directions(server):
    check_walk(server, "__order=-grp", "grp DESC, id ASC")
    check_walk(server, "__order=-grp,name&__page_size=3", "grp DESC, name ASC, id ASC")
    check_walk(server, "__order=grp&__order=-name&__page_size=4", "grp ASC, name DESC, id ASC")
    check_walk(server, "__order=-id", "id DESC")
    check_walk(server, "__order=id&__page_size=9", "id ASC")


def test_nullable_columns_with_nulls_both_directions(server):
    for column in ("score", "ratio", "at", "day", "uid", "flag", "label", "big"):
        check_walk(server, f"__order={column}&__page_size=4", f"{column} ASC, id ASC")
        check_walk(server, f"__order=-{column}&__page_size=4", f"{column} DESC, id ASC")


def test_several_nullable_keys_in_mixed_directions(server):
    check_walk(server, "__order=flag,-score&__page_size=3", "flag ASC, score DESC, id ASC")
    check_walk(server, "__order=-label,at,-grp", "label DESC, at ASC, grp DESC, id ASC")
    check_walk(server, "__order=day,uid&__page_size=2", "day ASC, uid ASC, id ASC")
    check_walk(server, "__order=grp,score&__page_size=6", "grp ASC, score ASC, id ASC")


def test_page_size_one_and_the_primary_key_in_the_middle(server):
    check_walk(server, "__order=-grp&__page_size=1", "grp DESC, id ASC")
    # keys after the primary key order nothing: the cursor is bound to "-grp,-id"
    check_walk(server, "__order=-grp,-id,name&__page_size=8", "grp DESC, id DESC")


def test_filters_apply_to_every_page(server):
    check_walk(server, "grp=2&__order=score&__page_size=3", "score ASC, id ASC", "grp = 2")
    check_walk(server, "score__operator=gt&score=2&__order=-at&__page_size=3",
               "at DESC, id ASC", "score > 2")
    check_walk(server, "label=null&__order=-name", "name DESC, id ASC", "label IS NULL")
    check_walk(server, "name=n1&__page_size=2", "id DESC", "name ILIKE '%n1%'")


def test_visible_fields_may_leave_the_order_columns_out(server):
    query = "__order=score,-at&__visible_fields=id&__page_size=6"
    ids, _ = walk(server, query)
    expect(ids == ordered_ids(server, "score ASC, at DESC, id ASC"), ids)
    _, body = page(server, f"/item/?{query}&__cursor=")
    expect(all(set(row) == {"id"} for row in body["rows"]), body["rows"][0])


def test_a_filter_that_matches_nothing_is_one_empty_last_page(server):
    response, body = page(server, "/item/?grp=99&__cursor=")
    expect(body == {"rows": [], "next_cursor": None}, body)
    expect(response.header("Link") is None)


def test_a_full_last_page_still_says_it_is_the_last(server):
    # 61 rows, 61 per page: one page with every row, and no next page
    _, body = page(server, f"/item/?__page_size={ROWS}&__cursor=")
    expect(len(body["rows"]) == ROWS and body["next_cursor"] is None, body["next_cursor"])
    _, body = page(server, "/item/?__page_size=60&__cursor=")
    expect(body["next_cursor"] is not None)
    _, last = page(server, f"/item/?__page_size=60&__cursor={body['next_cursor']}")
    expect(len(last["rows"]) == 1 and last["next_cursor"] is None, last)


def test_rows_inserted_and_deleted_between_pages_cause_no_duplicates(server):
    _, first = page(server, "/churn/?__order=grp&__cursor=")
    seen = [row["id"] for row in first["rows"]]
    position = (first["rows"][-1]["grp"], first["rows"][-1]["id"])
    # the row the cursor points at disappears, rows appear before and after the position,
    # and a row not yet seen is deleted
    server.sql(f"DELETE FROM churn WHERE id = {position[1]}")
    server.sql("INSERT INTO churn (grp) VALUES (0), (0), (1), (2), (2)")
    server.sql("DELETE FROM churn WHERE id = (SELECT max(id) FROM churn WHERE grp = 1 AND id < 20)")
    rest, cursor = [], first["next_cursor"]
    while cursor:
        _, body = page(server, f"/churn/?__order=grp&__cursor={cursor}")
        rest += [row["id"] for row in body["rows"]]
        cursor = body["next_cursor"]
    expect(len(seen + rest) == len(set(seen + rest)), f"duplicates: {seen} {rest}")
    # exactly the rows now after the first page's position, in order
    text = server.sql("SELECT grp, id FROM churn ORDER BY grp, id")
    now = [tuple(int(v) for v in line.split("|")) for line in text.split()]
    expect(rest == [key[1] for key in now if key > position], (position, rest, now))


def test_link_header_is_the_same_request_with_the_cursor_replaced(server):
    query = "grp=1&__order=-score&__page_size=3&__visible_fields=id,score"
    response, body = page(server, f"/item/?{query}&__cursor=")
    link = response.header("Link")
    cursor = body["next_cursor"]
    expect(link == f'</item/?{query}&__cursor={cursor}>; rel="next"', link)
    # the cursor's place is kept, and following the link gives the next page
    response, _ = page(server, f"/item/?__cursor={cursor}&{query}")
    second = response.header("Link")
    expect(second.startswith("</item/?__cursor=") and second.endswith(f'&{query}>; rel="next"'),
           second)
    target = link[1:link.index(">")]
    _, followed = page(server, target)
    _, direct = page(server, f"/item/?{query}&__cursor={cursor}")
    expect(followed == direct, (followed, direct))


def test_link_escapes_what_cannot_appear_in_it(server):
    response, _ = page(server, "/item/?name__operator=ne&name=a^b%3E&__page_size=1&__cursor=")
    link = response.header("Link")
    # the request's escapes stay escapes, other bytes are escaped: nothing ends the <...> early
    expect(link.count("<") == 1 and link.count(">") == 1, link)
    expect("&name=a%5Eb%3E&" in link, link)


def test_head_and_if_none_match(server):
    query = "/item/?__order=grp&__cursor="
    response, body = page(server, query)
    tag = response.header("ETag")
    expect(tag and tag.startswith('W/"'), tag)
    head = server.request("HEAD", query)
    expect_status(head, 200)
    expect(head.body == "" and head.header("ETag") == tag, head)
    expect(head.header("Link") == response.header("Link"), head.header("Link"))
    expect_status(server.get(query, headers={"If-None-Match": tag}), 304)
    # the next page is another body, another tag
    response, _ = page(server, f"/item/?__order=grp&__cursor={body['next_cursor']}")
    expect(response.header("ETag") != tag)


def first_cursor(server, query="__order=grp"):
    _, body = page(server, f"/item/?{query}&__cursor=")
    return body["next_cursor"]


def test_cursor_made_for_another_order_is_refused(server):
    cursor = first_cursor(server, "__order=grp")
    for other in ("__order=-grp", "__order=grp,name", "", "__order=name"):
        expect_error(server.get(f"/item/?{other}&__cursor={cursor}"), 400, "__cursor", "__order")
    # the same order spelled otherwise is the same order
    for same in ("__order=%2Bgrp", "__order=grp,id", "__order=grp,grp", "__order=grp,id,name"):
        expect_status(server.get(f"/item/?{same}&__cursor={cursor}"), 200)


def test_cursor_of_another_table_is_refused(server):
    _, body = page(server, "/churn/?__cursor=")
    expect_error(server.get(f"/item/?__cursor={body['next_cursor']}"), 400, "__cursor", "table")


def test_tampered_cursor_is_refused(server):
    cursor = first_cursor(server)
    blob = bytearray(base64.urlsafe_b64decode(cursor + "=" * (-len(cursor) % 4)))
    for index in (0, 40, len(blob) - 3):
        altered = bytearray(blob)
        altered[index] ^= 0x01
        text = base64.urlsafe_b64encode(bytes(altered)).decode().rstrip("=")
        expect_error(server.get(f"/item/?__order=grp&__cursor={text}"), 400, "__cursor",
                     "altered")
    # a payload re-signed by nobody: the values changed by hand
    payload = json.loads(blob[32:])
    payload["v"] = ["0", "1"]
    forged = blob[:32] + json.dumps(payload, separators=(",", ":")).encode()
    text = base64.urlsafe_b64encode(bytes(forged)).decode().rstrip("=")
    expect_error(server.get(f"/item/?__order=grp&__cursor={text}"), 400, "__cursor", "altered")


def test_undecodable_and_oversized_cursors_are_refused(server):
    for bad in ("abc", "%21%21%21", "not-a-cursor.at.all", "AAAA", "eyJ0IjoiaXRlbSJ9",
                "A" * 5000, "%C3%A9t%C3%A9"):
        expect_error(server.get(f"/item/?__cursor={bad}"), 400, "__cursor")
    expect_error(server.get("/item/?__cursor=" + "A" * 5000), 400, "__cursor", "too long")


def test_cursor_with_page_or_range_header_is_refused(server):
    cursor = first_cursor(server)
    expect_error(server.get(f"/item/?__order=grp&__page=2&__cursor={cursor}"), 400, "__cursor",
                 "__page")
    expect_error(server.get("/item/?__page=1&__cursor="), 400, "__cursor", "__page")
    expect_error(server.get("/item/?__range_header=true&__cursor="), 400, "__cursor",
                 "__range_header")
    expect_error(server.get("/item/?__cursor=&__cursor="), 400, "__cursor")
    # only the list takes a cursor
    expect_error(server.get("/item/count/?__cursor="), 400, "__cursor")


def test_page_size_rules_hold(server):
    expect_error(server.get("/item/?__page_size=101&__cursor="), 403, "__page_size")
    _, body = page(server, "/item/?__page_size=100&__cursor=")
    expect(len(body["rows"]) == ROWS and body["next_cursor"] is None)
    _, body = page(server, "/item/?__cursor=")
    expect(len(body["rows"]) == 5, len(body["rows"]))  # the table's page_size


def test_a_list_without_cursor_is_unchanged(server):
    response = server.get("/item/?__page=2")
    expect_status(response, 200)
    expect(set(response.json) == {"rows"} and response.header("Link") is None, response.json)


def test_cursors_work_on_every_instance_sharing_the_secret(server):
    cursor = first_cursor(server)
    # another instance with the same auth.jwt.secret takes the cursor (derived key)
    twin = Server(CONFIG, migrate=False, database_url=server.database_url).start()
    try:
        expect_status(twin.get(f"/item/?__order=grp&__cursor={cursor}"), 200)
    finally:
        expect(twin.stop() == 0)
    # an instance with another key refuses it; no secret at all: a random key and a warning
    config = json.loads(json.dumps(CONFIG))
    del config["auth"]["jwt"]
    config["server"] = {"cursor_secret": "another-cursor-secret-of-enough-length-42"}
    other = Server(config, migrate=False, database_url=server.database_url).start()
    try:
        expect_error(other.get(f"/item/?__order=grp&__cursor={cursor}"), 400, "__cursor")
        own = other.get("/item/?__order=grp&__cursor=").json["next_cursor"]
        expect_status(other.get(f"/item/?__order=grp&__cursor={own}"), 200)
    finally:
        expect(other.stop() == 0)
    del config["server"]
    lone = Server(config, migrate=False, database_url=server.database_url,
                  env={"RESTABLE_CURSOR_SECRET": "another-cursor-secret-of-enough-length-42"})
    lone.start()
    try:
        # the environment variable gives the same key as the config key did
        expect_status(lone.get(f"/item/?__order=grp&__cursor={own}"), 200)
    finally:
        expect(lone.stop() == 0)
    random_key = Server(config, migrate=False, database_url=server.database_url).start()
    try:
        expect_error(random_key.get(f"/item/?__order=grp&__cursor={own}"), 400, "__cursor")
        expect("cursor_secret" in random_key.read_log(), random_key.read_log())
    finally:
        expect(random_key.stop() == 0)


def test_link_carries_the_base_path(server):
    config = json.loads(json.dumps(CONFIG))
    config["server"] = {"base_path": "/api/v1"}
    behind = Server(config, migrate=False, database_url=server.database_url).start()
    try:
        response = behind.get("/api/v1/item/?__page_size=2&__cursor=")
        expect_status(response, 200)
        link = response.header("Link")
        cursor = response.json["next_cursor"]
        expect(link == f'</api/v1/item/?__page_size=2&__cursor={cursor}>; rel="next"', link)
        target = urllib.parse.urlsplit(link[1:link.index(">")])
        expect_status(behind.get(f"{target.path}?{target.query}"), 200)
    finally:
        expect(behind.stop() == 0)
