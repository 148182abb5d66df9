"""Full-text search (SPEC §5 "Full-text search"): a "search": true column gets a GIN index on
to_tsvector('<search_language>'::regconfig, col), made and dropped by migrations and found by
`schema generate`; col=<query>&col__match=search filters with websearch_to_tsquery (words,
"exact phrase", -negation, or) in the table's search_language, in list, count, bulk delete and
bulk patch, and the planner uses the index for it."""
import os
import time
import urllib.parse

from harness import Server, expect, expect_error, expect_status
from test_migrations import Project, copy, generate_round_trip

CONFIG = {
    "tables": {
        "film": {
            "search_language": "english",
            "allow_bulk_delete": True,
            "allow_bulk_update": True,
            "columns": {
                "title": {"type": "varchar", "length": 200, "search": True},
                "plot": {"type": "text", "search": True, "null": True},
                "note": {"type": "text", "null": True},
                "year": {"type": "integer", "null": True},
            },
        },
        "post": {"columns": {"body": {"type": "text", "search": True}}},
        # a big table, so the planner prefers the index to a sequential scan
        "article": {"columns": {"body": {"type": "text", "search": True}}},
    },
}

FILMS = [
    ("A New Hope", "A young farmer joins the rebel alliance against the empire", 1977),
    ("The Empire Strikes Back", "The empire hunts the rebel fleet; a jedi trains", 1980),
    ("Rebel Without a Cause", "A troubled teenager runs from his past", 1955),
    ("Running Man", "A man is forced to run for his life on television", 1987),
    ("Sith Story", "A sith lord rises", 2005),
]


def setup():
    server = Server(CONFIG)
    values = ", ".join(f"('{title}', '{plot}', {year})" for title, plot, year in FILMS)
    server.sql(f"INSERT INTO film (title, plot, year) VALUES {values};"
               "INSERT INTO post (body) VALUES ('run fast'), ('running late');"
               # words that each come back often enough for ANALYZE to know them
               "INSERT INTO article (body) SELECT 'word' || (g % 500) || ' term' || (g % 377) "
               "|| ' item' || (g % 91) FROM generate_series(1, 20000) g;"
               "INSERT INTO article (body) VALUES ('a rare zyzzyva sighting');"
               "ANALYZE film; ANALYZE post; ANALYZE article")
    return server.start()


def teardown(server):
    expect(server.stop() == 0)


def search(server, table, column, query, extra="", path=""):
    quoted = urllib.parse.quote(query)
    return server.get(f"/{table}/{path}?{column}={quoted}&{column}__match=search{extra}")


def titles(response):
    expect_status(response, 200)
    return sorted(row["title"] for row in response.json["rows"])


def test_words_all_have_to_match(server):
    expect(titles(search(server, "film", "plot", "rebel")) ==
           ["A New Hope", "The Empire Strikes Back"])
    expect(titles(search(server, "film", "plot", "rebel farmer")) == ["A New Hope"])
    expect(titles(search(server, "film", "title", "rebel")) == ["Rebel Without a Cause"])
    expect(titles(search(server, "film", "title", "rebel -empire")) == ["Rebel Without a Cause"])
    expect(titles(search(server, "film", "title", "empire -rebel")) ==
           ["The Empire Strikes Back"])
    expect(titles(search(server, "film", "plot", "nothing-like-this")) == [])


def test_phrase_negation_and_or(server):
    expect(titles(search(server, "film", "plot", '"rebel alliance"')) == ["A New Hope"])
    expect(titles(search(server, "film", "plot", '"alliance rebel"')) == [])
    expect(titles(search(server, "film", "plot", "rebel -empire")) == [])
    expect(titles(search(server, "film", "plot", "empire -jedi")) == ["A New Hope"])
    expect(titles(search(server, "film", "plot", "jedi or sith")) ==
           ["Sith Story", "The Empire Strikes Back"])
    # websearch_to_tsquery never fails on odd syntax: it reads what it can
    expect_status(search(server, "film", "plot", '"unclosed & | ! ( -'), 200)


def test_language_english_stems_and_simple_does_not(server):
    # english: "running" and "runs" are both "run"
    expect(titles(search(server, "film", "plot", "running")) ==
           ["Rebel Without a Cause", "Running Man"])
    expect(titles(search(server, "film", "title", "run")) == ["Running Man"])
    # simple (the default): words as they are
    bodies = sorted(row["body"] for row in search(server, "post", "body", "running").json["rows"])
    expect(bodies == ["running late"], bodies)
    # an english stop word alone matches nothing, and is no error
    expect(titles(search(server, "film", "plot", "the")) == [])


def test_with_other_filters_order_and_pages(server):
    response = search(server, "film", "plot", "rebel or run",
                      "&year__operator=gt&year=1960&__order=year&__page_size=1&__page=2")
    expect(titles(response) == ["The Empire Strikes Back"])
    # "null" is a word to search for here, not SQL NULL
    expect(titles(search(server, "film", "plot", "null")) == [])


def test_count_bulk_patch_and_bulk_delete(server):
    count = search(server, "film", "plot", "rebel", path="count/")
    expect(count.json["count"] == 2, count)
    server.sql("INSERT INTO film (title, plot) VALUES ('Doomed One', 'a doomed rebel'),"
               " ('Doomed Two', 'another doomed rebel')")
    quoted = "plot=doomed%20rebel&plot__match=search"
    every_id = server.sql("SELECT string_agg(id::text, ',') FROM film")
    patched = server.request("PATCH", f"/film/?__ids={every_id}&{quoted}", body={"note": "x"})
    expect(titles(patched) == ["Doomed One", "Doomed Two"], patched)
    expect(server.sql("SELECT count(*) FROM film WHERE note = 'x'") == "2")
    deleted = server.request("DELETE", f"/film/?{quoted}")
    expect_status(deleted, 204)
    expect(server.sql("SELECT count(*) FROM film WHERE title LIKE 'Doomed%'") == "0")
    expect(server.sql("SELECT count(*) FROM film") == str(len(FILMS)))


def test_bad_searches_are_400_naming_the_field(server):
    expect_error(search(server, "film", "note", "rebel"), 400, field="note__match",
                 contains="not a search column")
    expect_error(search(server, "film", "year", "1977"), 400, field="year__match")
    expect_error(server.get("/film/?plot=a&plot=b&plot__match=search"), 400, field="plot",
                 contains="one query")
    expect_error(server.get("/film/?plot__match=search"), 400, field="plot")
    expect_error(server.get("/film/?plot=a&plot__match=search&plot__operator=ne"), 400,
                 field="plot__operator")
    expect_error(server.get("/film/?plot=a&plot__match=fulltext"), 400, field="plot__match",
                 contains="search")
    # operator e is the default, and allowed
    expect(titles(server.get("/film/?plot=jedi&plot__match=search&plot__operator=e")) ==
           ["The Empire Strikes Back"])


def index_scans(server, index):
    return int(server.sql("SELECT coalesce(sum(idx_scan), 0) FROM pg_stat_user_indexes "
                          f"WHERE indexrelname = '{index}'"))


def test_the_index_serves_the_filter(server):
    # a server of its own, stopped after the search: a backend reports its index scans when it
    # exits (an idle one every 10 s)
    own = Server(CONFIG, migrate=False, database_url=server.database_url).start()
    before = index_scans(server, "article_body_search")
    response = search(own, "article", "body", "zyzzyva")
    expect_status(response, 200)
    expect([row["body"] for row in response.json["rows"]] == ["a rare zyzzyva sighting"],
           response)
    expect(own.stop() == 0)
    # through PgBouncer the server's backends outlive it, and report when idle (10 s)
    deadline = time.time() + (15 if os.environ.get("RESTABLE_TEST_POOLER") else 5)
    while index_scans(server, "article_body_search") == before and time.time() < deadline:
        time.sleep(0.1)
    expect(index_scans(server, "article_body_search") > before,
           "the search did not use article_body_search")
    # and the expression is the index's, spelled as restable spells it (enable_seqscan off:
    # the planner takes the index whenever the expressions match)
    plan = server.sql("SET enable_seqscan = off; EXPLAIN SELECT 1 FROM film WHERE "
                      "to_tsvector('english'::regconfig, \"title\") @@ "
                      "websearch_to_tsquery('english'::regconfig, 'rebel'::text)")
    expect("film_title_search" in plan, plan)


def test_migrations_make_change_and_drop_the_index(_server):
    tables = {"doc": {"columns": {"body": {"type": "text", "search": True},
                                  "title": {"type": "varchar", "length": 40}}}}
    project = Project(copy(tables))
    indexes = "SELECT indexdef FROM pg_indexes WHERE tablename = 'doc' ORDER BY indexname"
    expect("USING gin (to_tsvector('simple'::regconfig, body))" in project.sql(indexes))
    project.expect_clean("after the first forwards")
    # another language: the index is made again in it
    tables["doc"]["search_language"] = "english"
    tables["doc"]["columns"]["title"]["search"] = True
    project.write(copy(tables))
    drift = project.check()
    expect("drift: doc.body: declared search (english), database search (simple)" in drift.stdout,
           drift.stdout)
    expect("drift: doc.title: declared search (english), database no search" in drift.stdout,
           drift.stdout)
    project.new_auto("english")
    expect('DROP INDEX "doc_body_search"' in project.last_text, project.last_text)
    expect('CREATE INDEX "doc_title_search" ON "doc" USING gin '
           "(to_tsvector('english'::regconfig, \"title\"))" in project.last_text,
           project.last_text)
    project.ok("migrations", "forwards")
    project.expect_clean("after the language change")
    defined = project.sql(indexes)
    expect("to_tsvector('english'::regconfig, body)" in defined and
           "to_tsvector('english'::regconfig, (title)::text)" in defined, defined)
    # schema generate reads both back
    generated, check = generate_round_trip(project.url)
    expect(check.returncode == 0, check.stdout + check.stderr)
    expect(generated["doc"]["search_language"] == "english", generated)
    expect(generated["doc"]["columns"]["body"].get("search") is True, generated)
    expect(generated["doc"]["columns"]["title"].get("search") is True, generated)
    # backwards puts the simple index back
    project.ok("migrations", "backwards")
    expect("to_tsvector('simple'::regconfig, body)" in project.sql(indexes))
    expect("title_search" not in project.sql(indexes))
    project.ok("migrations", "forwards")
    # search off: the index goes, and nothing else
    tables["doc"]["columns"]["body"]["search"] = False
    del tables["doc"]["columns"]["title"]["search"]
    project.write(copy(tables))
    project.new_auto("off")
    project.ok("migrations", "forwards")
    project.expect_clean("after search off")
    expect(project.sql(indexes) == "CREATE UNIQUE INDEX doc_pkey ON public.doc USING btree (id)")


def test_a_language_the_database_lacks_is_a_clear_error(_server):
    project = Project({"doc": {"columns": {"body": {"type": "text"}}}})
    project.write({"doc": {"search_language": "klingon",
                           "columns": {"body": {"type": "text", "search": True}}}})
    for args in (("migrations", "new", "--auto"), ("migrations", "check"),
                 ("migrations", "forwards")):
        result = project.cli(*args)
        expect(result.returncode != 0, result)
        expect('tables.doc.search_language: the database has no text search configuration '
               '"klingon"' in result.stderr, result.stderr)


def test_serving_a_language_the_database_lacks_is_a_logged_500(_server):
    own = Server({"tables": {"doc": {"search_language": "klingon", "columns": {
        "body": {"type": "text", "search": True}}}}}, migrate=False)
    own.sql("CREATE TABLE doc (id serial PRIMARY KEY, body text NOT NULL)")
    own.start()
    try:
        expect_error(search(own, "doc", "body", "qapla"), 500,
                     contains="the database schema does not match the config")
        expect_status(own.get("/doc/?body=qapla"), 200)  # the other filters still work
    finally:
        expect(own.stop() == 0)
    logged = [line for line in own.read_log().splitlines() if "schema out of date" in line]
    expect(len(logged) == 1 and "klingon" in logged[0] and "does not exist" in logged[0],
           own.read_log()[-2000:])
