"""Schema evolution (SPEC §1, issue 7): every kind of change `migrations new --auto` writes,
applied, checked clean, reverted, checked clean again, with the rows surviving the
non-destructive ones; destructive changes held back without --allow-destructive; checksums;
previews; two concurrent forwards; `schema generate` round trips; check's exit codes."""
import json
import os
import re
import subprocess
import tempfile
import threading

from fixtures import MOVIES
from harness import expect, fresh_database, psql, run_cli


BASE = {
    "director": {"columns": {"name": {"type": "varchar", "length": 100}}},
    "movie": {
        "columns": {
            "title": {"type": "varchar", "length": 50},
            "rating": {"type": "integer", "null": True},
            "director": {"type": "foreign_key", "references": "director", "null": True},
        }
    },
}
SEED = ("INSERT INTO director (name) VALUES ('Kurosawa'), ('Varda');"
        "INSERT INTO movie (title, rating, director) VALUES ('Ran', 9, 1), ('Cleo', 8, 2);")


def copy(value):
    return json.loads(json.dumps(value))


class Project:
    """A config file, its migrations folder and a fresh database, evolved step by step."""

    def __init__(self, tables, seed=None):
        self.url = fresh_database()
        self.directory = tempfile.mkdtemp(prefix="restable-mig-")
        self.path = os.path.join(self.directory, "restable.json")
        self.write(tables)
        self.new_auto("initial")
        self.ok("migrations", "forwards")
        if seed:
            self.sql(seed)

    def write(self, tables):
        with open(self.path, "w") as handle:
            json.dump({"database": {"url": self.url}, "tables": tables}, handle)

    def cli(self, *args):
        return run_cli(list(args), self.path)

    def ok(self, *args):
        result = self.cli(*args)
        expect(result.returncode == 0,
               f"restable {' '.join(args)} exited {result.returncode}:\n"
               f"{result.stdout}{result.stderr}")
        return result

    def sql(self, statement):
        return psql(self.url, statement)

    def new_auto(self, name, *flags):
        result = self.ok("migrations", "new", "--auto", "--name", name, *flags)
        match = re.search(r"wrote (\S+\.sql)", result.stdout)
        expect(match, f"no file written: {result.stdout}{result.stderr}")
        with open(match.group(1)) as handle:
            self.last_text = handle.read()
        self.last_stderr = result.stderr
        return match.group(1)

    def check(self):
        return self.cli("migrations", "check")

    def expect_clean(self, when):
        result = self.check()
        expect(result.returncode == 0, f"check {when}: {result.stdout}{result.stderr}")

    def expect_only_pending(self, when):
        """No drift; the reverted migration is pending again (so check exits 1)."""
        result = self.check()
        expect(result.returncode == 1 and "drift:" not in result.stdout
               and "1 pending, 0 drift" in result.stdout,
               f"check {when}: {result.stdout}{result.stderr}")


def evolve(before, after, seed=SEED, flags=()):
    """before → after: write, apply, check clean; revert, check clean against before; apply
    again. Returns the project (at `after`) and the migration's text."""
    project = Project(before, seed)
    project.write(after)
    drift = project.check()
    expect(drift.returncode == 1 and "drift:" in drift.stdout, drift.stdout)
    project.new_auto("change", *flags)
    text = project.last_text
    project.ok("migrations", "forwards")
    project.expect_clean("after forwards")
    project.ok("migrations", "backwards")
    project.write(before)
    project.expect_only_pending("after backwards")
    project.write(after)
    project.ok("migrations", "forwards")
    project.expect_clean("after forwards again")
    return project, text


def test_add_table_with_a_foreign_key_to_an_existing_one():
    after = copy(BASE)
    after["award"] = {"columns": {"movie": {"type": "foreign_key", "references": "movie"},
                                  "year": {"type": "smallint"}}}
    project, text = evolve(BASE, after)
    expect('CREATE TABLE "award"' in text, text)
    project.sql("INSERT INTO award (movie, year) VALUES (1, 1986)")
    expect(project.sql("SELECT count(*) FROM movie") == "2")


def test_add_two_tables_referencing_each_other_in_order():
    after = copy(BASE)
    after["studio"] = {"columns": {"name": {"type": "text"}}}
    after["release"] = {"columns": {"studio": {"type": "foreign_key", "references": "studio"}}}
    _, text = evolve(BASE, after)
    forwards = text.split("-- +backwards")[0]
    backwards = text.split("-- +backwards")[1]
    expect(forwards.index('CREATE TABLE "studio"') < forwards.index('CREATE TABLE "release"'),
           forwards)
    expect(backwards.index('DROP TABLE "release"') < backwards.index('DROP TABLE "studio"'),
           backwards)


def test_add_column_keeps_rows_and_fills_the_default():
    after = copy(BASE)
    after["movie"]["columns"]["seen"] = {"type": "boolean", "default": False}
    project, _ = evolve(BASE, after)
    expect(project.sql("SELECT string_agg(title || ':' || seen, ',' ORDER BY id) FROM movie")
           == "Ran:false,Cleo:false")


def test_rename_column_keeps_its_values():
    after = copy(BASE)
    after["movie"]["columns"]["name"] = dict(after["movie"]["columns"].pop("title"),
                                             renamed_from="title")
    project, text = evolve(BASE, after)
    expect('RENAME COLUMN "title" TO "name"' in text, text)
    expect("DROP COLUMN" not in text, text)
    expect(project.sql("SELECT string_agg(name, ',' ORDER BY id) FROM movie") == "Ran,Cleo")


def test_rename_table_keeps_its_rows_and_foreign_keys():
    after = copy(BASE)
    after["film"] = dict(after.pop("movie"), renamed_from="movie")
    project, text = evolve(BASE, after)
    expect('ALTER TABLE "movie" RENAME TO "film"' in text, text)
    expect(project.sql("SELECT string_agg(title, ',' ORDER BY id) FROM film") == "Ran,Cleo")
    # restable's names follow the table: film_pkey, film_director_fkey, film_director_idx
    expect(project.sql("SELECT string_agg(conname, ',' ORDER BY conname) FROM pg_constraint "
                       "WHERE conrelid = 'film'::regclass") == "film_director_fkey,film_pkey")
    expect(project.sql("SELECT count(*) FROM pg_indexes WHERE indexname = 'film_director_idx'")
           == "1")
    project.sql("DELETE FROM film")  # the foreign key still points at director
    expect(project.sql("SELECT count(*) FROM director") == "2")


def test_without_renamed_from_a_rename_is_drop_and_add():
    after = copy(BASE)
    after["movie"]["columns"]["name"] = after["movie"]["columns"].pop("title")
    after["movie"]["columns"]["name"]["null"] = True
    project = Project(BASE, SEED)
    project.write(after)
    project.new_auto("change")
    text = project.last_text
    expect("-- DESTRUCTIVE" in text and '-- ALTER TABLE "movie" DROP COLUMN "title"' in text, text)
    expect('ADD COLUMN "name"' in text, text)
    expect("destructive" in project.last_stderr, project.last_stderr)


def test_widening_type_changes_keep_values():
    after = copy(BASE)
    after["movie"]["columns"]["rating"] = {"type": "bigint", "null": True}
    after["movie"]["columns"]["title"] = {"type": "varchar", "length": 200}
    project, text = evolve(BASE, after)
    expect('TYPE bigint USING "rating"::bigint' in text, text)
    expect("DESTRUCTIVE" not in text, text)
    expect(project.sql("SELECT format_type(atttypid, atttypmod) FROM pg_attribute "
                       "WHERE attrelid = 'movie'::regclass AND attname = 'rating'") == "bigint")
    expect(project.sql("SELECT sum(rating) FROM movie") == "17")


def test_narrowing_is_held_back_without_the_flag():
    after = copy(BASE)
    after["movie"]["columns"]["title"] = {"type": "varchar", "length": 10}
    project = Project(BASE, SEED)
    project.write(after)
    project.new_auto("narrow")
    expect("-- DESTRUCTIVE" in project.last_text, project.last_text)
    project.ok("migrations", "forwards")
    expect(project.sql("SELECT character_maximum_length FROM information_schema.columns "
                       "WHERE table_name = 'movie' AND column_name = 'title'") == "50")
    result = project.check()
    expect(result.returncode == 1 and "movie.title" in result.stdout, result.stdout)


def test_narrowing_with_the_flag_converts_using_a_cast():
    after = copy(BASE)
    after["movie"]["columns"]["title"] = {"type": "varchar", "length": 10}
    after["movie"]["columns"]["rating"] = {"type": "numeric", "precision": 3, "scale": 1,
                                           "null": True}
    project, text = evolve(BASE, after, flags=("--allow-destructive",))
    expect("DESTRUCTIVE" not in text, text)
    expect(project.sql("SELECT string_agg(rating::text, ',' ORDER BY id) FROM movie")
           == "9.0,8.0")


def test_text_to_integer_uses_a_cast():
    before = copy(BASE)
    before["movie"]["columns"]["year"] = {"type": "text", "null": True}
    after = copy(BASE)
    after["movie"]["columns"]["year"] = {"type": "integer", "null": True}
    project = Project(before, SEED + "UPDATE movie SET year = '1985';")
    project.write(after)
    project.new_auto("year", "--allow-destructive")
    project.ok("migrations", "forwards")
    project.expect_clean("after the cast")
    expect(project.sql("SELECT sum(year) FROM movie") == "3970")
    project.ok("migrations", "backwards")
    expect(project.sql("SELECT string_agg(year, ',') FROM movie") == "1985,1985")


def test_nullability_both_ways():
    after = copy(BASE)
    after["movie"]["columns"]["rating"] = {"type": "integer"}  # not null now
    after["movie"]["columns"]["title"] = {"type": "varchar", "length": 50, "null": True}
    project, text = evolve(BASE, after)
    expect('"rating" SET NOT NULL' in text and '"title" DROP NOT NULL' in text, text)
    expect(project.sql("SELECT is_nullable FROM information_schema.columns WHERE "
                       "table_name = 'movie' AND column_name = 'rating'") == "NO")


def test_defaults_set_change_and_drop():
    before = copy(BASE)
    before["movie"]["columns"]["views"] = {"type": "integer", "default": 0}
    before["movie"]["columns"]["label"] = {"type": "text", "default": "new"}
    after = copy(BASE)
    after["movie"]["columns"]["views"] = {"type": "integer", "default": 10}
    after["movie"]["columns"]["label"] = {"type": "text"}
    after["movie"]["columns"]["rating"] = {"type": "integer", "null": True, "default": 5}
    project, text = evolve(before, after)
    expect('"views" SET DEFAULT 10' in text and '"label" DROP DEFAULT' in text, text)
    project.sql("INSERT INTO movie (title, label) VALUES ('New', 'x')")
    expect(project.sql("SELECT views || ',' || rating FROM movie WHERE title = 'New'") == "10,5")


def test_unique_and_index_added_and_dropped():
    before = copy(BASE)
    before["director"]["columns"]["name"]["unique"] = True
    after = copy(BASE)
    after["movie"]["columns"]["title"]["unique"] = True
    after["movie"]["columns"]["rating"]["index"] = True
    project, text = evolve(before, after)
    expect('ADD CONSTRAINT "movie_title_key" UNIQUE ("title")' in text, text)
    expect('CREATE INDEX "movie_rating_idx"' in text, text)
    expect('DROP CONSTRAINT "director_name_key"' in text, text)
    refused = subprocess.run(["psql", "-qAtX", project.url, "-c",
                              "INSERT INTO movie (title) VALUES ('Ran')"],
                             capture_output=True, text=True)
    expect("movie_title_key" in refused.stderr, refused.stderr)
    expect(project.sql("SELECT count(*) FROM movie WHERE title = 'Ran'") == "1")


def test_foreign_key_actions_change_and_a_column_becomes_a_key():
    after = copy(BASE)
    after["movie"]["columns"]["director"]["on_delete"] = "cascade"
    after["movie"]["columns"]["rating"] = {"type": "foreign_key", "references": "director",
                                           "null": True, "on_update": "cascade"}
    project, text = evolve(BASE, after, seed=SEED + "UPDATE movie SET rating = NULL;")
    expect('DROP CONSTRAINT "movie_director_fkey"' in text, text)
    expect("ON DELETE CASCADE ON UPDATE NO ACTION" in text, text)
    expect('"movie_rating_fkey" FOREIGN KEY ("rating")' in text, text)
    project.sql("DELETE FROM director WHERE id = 1")
    expect(project.sql("SELECT count(*) FROM movie") == "1")


def test_choices_become_a_check_and_follow_the_config():
    before = copy(BASE)
    before["movie"]["columns"]["genre"] = {"type": "varchar", "length": 20, "null": True,
                                           "choices": ["drama", "comedy"]}
    after = copy(before)
    after["movie"]["columns"]["genre"]["choices"] = ["drama", "comedy", "noir"]
    project, text = evolve(before, after)
    expect('"movie_genre_check"' in text, text)
    project.sql("UPDATE movie SET genre = 'noir'")
    refused = subprocess.run(["psql", "-qAtX", project.url, "-c",
                              "UPDATE movie SET genre = 'western'"], capture_output=True, text=True)
    expect("movie_genre_check" in refused.stderr, refused.stderr)


def test_drop_column_and_table_only_with_the_flag():
    after = copy(BASE)
    del after["movie"]["columns"]["rating"]
    after_without_director = copy(after)
    project = Project(BASE, SEED)
    project.write(after)
    project.new_auto("held")
    expect('-- ALTER TABLE "movie" DROP COLUMN "rating"' in project.last_text, project.last_text)
    project.ok("migrations", "forwards")
    expect(project.sql("SELECT sum(rating) FROM movie") == "17")  # nothing lost

    project2, text = evolve(BASE, after, flags=("--allow-destructive",))
    expect('ALTER TABLE "movie" DROP COLUMN "rating"' in text, text)
    expect("-- DESTRUCTIVE" not in text, text)

    # dropping a table another table points at: the referencing column goes first, the
    # table last; backwards recreates the table before the column that points at it
    del after_without_director["director"]
    del after_without_director["movie"]["columns"]["director"]
    _, text = evolve(BASE, after_without_director, flags=("--allow-destructive",))
    forwards, backwards = text.split("-- +backwards")
    expect(forwards.index('DROP COLUMN "director"') < forwards.index('DROP TABLE "director"'),
           forwards)
    expect(backwards.index('CREATE TABLE "director"') < backwards.index('ADD COLUMN "director"'),
           backwards)


def test_edited_applied_file_is_refused_until_forced():
    project = Project(BASE, SEED)
    files = sorted(os.listdir(os.path.join(project.directory, "migrations")))
    path = os.path.join(project.directory, "migrations", files[0])
    with open(path, "a") as handle:
        handle.write("-- an edit after applying\n")
    result = project.cli("migrations", "forwards")
    expect(result.returncode == 1 and "edited after it was applied" in result.stderr
           and files[0] in result.stderr, result)
    check = project.check()
    expect(check.returncode == 1 and "edited" in check.stdout, check.stdout)
    forced = project.ok("migrations", "forwards", "--force")
    expect("accepted the edit" in forced.stdout, forced.stdout)
    project.ok("migrations", "forwards")
    project.expect_clean("after --force")


def test_files_use_plus_markers_and_previews_change_nothing():
    after = copy(BASE)
    after["movie"]["columns"]["seen"] = {"type": "boolean", "default": False}
    project = Project(BASE, SEED)
    expect("-- +forwards\n" in project.last_text and "-- +backwards\n" in project.last_text,
           project.last_text)
    project.write(after)
    project.new_auto("seen")
    preview = project.ok("migrations", "forwards", "--preview")
    expect('ADD COLUMN "seen"' in preview.stdout, preview.stdout)
    expect(project.sql("SELECT count(*) FROM information_schema.columns "
                       "WHERE table_name = 'movie' AND column_name = 'seen'") == "0")
    project.ok("migrations", "forwards")
    preview = project.ok("migrations", "backwards", "--preview")
    expect('DROP COLUMN "seen"' in preview.stdout, preview.stdout)
    expect(project.sql("SELECT count(*) FROM information_schema.columns "
                       "WHERE table_name = 'movie' AND column_name = 'seen'") == "1")


def test_check_exit_codes():
    project = Project(BASE, SEED)
    project.expect_clean("fresh")
    project.ok("migrations", "new", "--name", "empty")
    pending = project.check()
    expect(pending.returncode == 1 and "pending" in pending.stdout, pending.stdout)
    project.ok("migrations", "forwards")
    project.expect_clean("after applying the empty one")
    project.sql("ALTER TABLE movie ALTER COLUMN rating SET NOT NULL")
    drift = project.check()
    expect(drift.returncode == 1 and
           "movie.rating: declared integer null, database integer not null" in drift.stdout,
           drift.stdout)


def test_two_concurrent_forwards_apply_once():
    url = fresh_database()
    directory = tempfile.mkdtemp(prefix="restable-mig-")
    path = os.path.join(directory, "restable.json")
    with open(path, "w") as handle:
        json.dump({"database": {"url": url}, "tables": MOVIES["tables"]}, handle)
    run_cli(["migrations", "new", "--auto", "--name", "initial"], path)
    # a slow migration after it, so the second process finds the lock taken
    with open(os.path.join(directory, "migrations", "29990101000000_slow.sql"), "w") as handle:
        handle.write("-- +forwards\nSELECT pg_sleep(1.5);\n-- +backwards\n")
    results = [None, None]

    def forwards(index):
        results[index] = run_cli(["migrations", "forwards"], path)

    threads = [threading.Thread(target=forwards, args=(i,)) for i in range(2)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    for result in results:
        expect(result.returncode == 0, result)
    outputs = results[0].stdout + results[1].stdout
    expect(outputs.count("applied 29990101000000 slow") == 1, outputs)
    expect("waiting for another restable" in outputs, outputs)
    expect("nothing to apply" in outputs, outputs)
    expect(psql(url, "SELECT count(*) FROM restable_migrations") == "2")


def generate_round_trip(url, tables_arg=None):
    directory = tempfile.mkdtemp(prefix="restable-gen-")
    path = os.path.join(directory, "restable.json")
    with open(path, "w") as handle:
        json.dump({"database": {"url": url}, "tables": {"placeholder": {"columns": {}}}}, handle)
    args = ["schema", "generate"] + (["--tables", tables_arg] if tables_arg else [])
    generated = run_cli(args, path)
    expect(generated.returncode == 0, generated)
    tables = json.loads(generated.stdout)["tables"]
    with open(path, "w") as handle:
        json.dump({"database": {"url": url}, "tables": tables}, handle)
    return tables, run_cli(["migrations", "check"], path)


def test_schema_generate_round_trips_the_example_config():
    project = Project(MOVIES["tables"])
    tables, check = generate_round_trip(project.url)
    expect(check.returncode == 0, check.stdout + check.stderr)
    genre = tables["movie"]["columns"]["genre"]
    expect(genre["choices"] == ["drama", "comedy", "sci-fi"], genre)
    expect(tables["movie"]["columns"]["rating"] == {"type": "integer", "index": True,
                                                    "default": 0}, tables["movie"])
    expect(tables["movie"]["columns"]["released"]["default"] is False, tables["movie"])


def test_schema_generate_round_trips_a_hand_made_database():
    url = fresh_database()
    psql(url, """
        CREATE TABLE author (
            author_id bigserial PRIMARY KEY,
            email varchar(120) NOT NULL UNIQUE,
            score numeric(5,2) DEFAULT 1.5,
            tags text[] NOT NULL DEFAULT '{a,"b c"}',
            settings jsonb DEFAULT '{"dark": true}',
            joined timestamp DEFAULT CURRENT_TIMESTAMP,
            kind varchar(10) CONSTRAINT author_kind_check CHECK (kind IN ('staff', 'guest')),
            active boolean NOT NULL DEFAULT true,
            note text
        );
        CREATE INDEX author_score_idx ON author (score);
        CREATE TABLE post (
            id serial PRIMARY KEY,
            author bigint REFERENCES author ON DELETE SET NULL ON UPDATE CASCADE,
            title text NOT NULL DEFAULT 'untitled',
            rating real
        );
        CREATE TABLE ignored (id int PRIMARY KEY);
    """)
    tables, check = generate_round_trip(url, "author,post")
    expect(check.returncode == 1, check.stdout)  # "ignored" is in the database, not declared
    drift = [line for line in check.stdout.splitlines() if line.startswith("drift:")]
    expect(drift == ["drift: ignored: in the database, not declared (drop table)"], drift)
    author = tables["author"]["columns"]
    expect(author["author_id"] == {"type": "bigserial", "primary_key": True}, author)
    expect(author["tags"]["default"] == ["a", "b c"], author["tags"])
    expect(author["settings"]["default"] == {"dark": True}, author["settings"])
    expect(author["kind"]["choices"] == ["staff", "guest"], author["kind"])
    expect(author["score"]["index"] is True, author["score"])
    post = tables["post"]["columns"]
    expect(post["author"]["on_delete"] == "set null" and post["author"]["on_update"] == "cascade"
           and post["author"]["index"] is False, post["author"])
    everything, check = generate_round_trip(url)
    expect(check.returncode == 0, check.stdout + check.stderr)
    expect(set(everything) == {"author", "post", "ignored"}, everything)


def test_unknown_table_for_generate_is_an_error():
    project = Project(BASE)
    result = project.cli("schema", "generate", "--tables", "movie,nope")
    expect(result.returncode == 1 and '"nope"' in result.stderr, result)



def test_dropping_tables_that_reference_each_other():
    project = Project(BASE, SEED)
    project.sql("CREATE TABLE studio (id serial PRIMARY KEY, name text NOT NULL DEFAULT 'x');"
                "CREATE TABLE lot (id serial PRIMARY KEY, studio integer REFERENCES studio);"
                "ALTER TABLE studio ADD COLUMN main_lot integer REFERENCES lot;"
                "CREATE INDEX lot_studio_idx ON lot (studio);")
    project.new_auto("drop_studios", "--allow-destructive")
    forwards, backwards = project.last_text.split("-- +backwards")
    expect(forwards.index("DROP CONSTRAINT") < forwards.index("DROP TABLE"), forwards)
    project.ok("migrations", "forwards")
    project.expect_clean("after dropping both")
    project.ok("migrations", "backwards")
    expect(project.sql("SELECT count(*) FROM pg_constraint WHERE contype = 'f' AND "
                       "conrelid IN ('studio'::regclass, 'lot'::regclass)") == "2")
    expect(project.sql("SELECT count(*) FROM pg_indexes WHERE indexname = 'lot_studio_idx'")
           == "1")
    project.sql("INSERT INTO studio DEFAULT VALUES")  # the serial key works again


def test_array_choices_change_and_not_null_is_filled_from_the_default():
    before = copy(BASE)
    before["movie"]["columns"]["tags"] = {"type": "array", "of": "varchar", "length": 10,
                                          "null": True, "choices": ["a", "b"]}
    after = copy(before)
    after["movie"]["columns"]["tags"]["choices"] = ["a", "b", "c"]
    after["movie"]["columns"]["rating"] = {"type": "integer", "default": 0}
    project, text = evolve(before, after,
                           seed=SEED + "UPDATE movie SET rating = NULL WHERE id = 1;"
                                       "UPDATE movie SET tags = '{a}';")
    expect('UPDATE "movie" SET "rating" = DEFAULT WHERE "rating" IS NULL;' in text, text)
    expect(project.sql("SELECT string_agg(rating::text, ',' ORDER BY id) FROM movie") == "0,8")
    project.sql("UPDATE movie SET tags = '{a,c}'")
    refused = subprocess.run(["psql", "-qAtX", project.url, "-c",
                              "UPDATE movie SET tags = '{d}'"], capture_output=True, text=True)
    expect("movie_tags_check" in refused.stderr, refused.stderr)
