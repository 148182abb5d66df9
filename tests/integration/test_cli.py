"""The command line (SPEC §1): version, help, usage errors, config check, schema sql,
migrations forwards idempotence, tokens."""
import json
import os
import tempfile

from fixtures import MOVIES
from harness import Server, expect, run_cli


def write_config(config):
    directory = tempfile.mkdtemp(prefix="restable-cli-")
    path = os.path.join(directory, "restable.json")
    with open(path, "w") as handle:
        handle.write(config if isinstance(config, str) else json.dumps(config))
    return path


def with_database(config):
    config = json.loads(json.dumps(config))
    config["database"] = {"url": "postgresql://nobody@127.0.0.1:1/none"}
    return config


def test_version_and_help():
    result = run_cli(["--version"])
    expect(result.returncode == 0 and result.stdout.startswith("restable "), result)
    result = run_cli(["--help"])
    expect(result.returncode == 0 and "migrations forwards" in result.stdout, result)


def test_unknown_command_is_usage_error():
    result = run_cli(["frobnicate"])
    expect(result.returncode == 2 and "unknown command" in result.stderr, result)
    expect(run_cli([]).returncode == 2)


def test_unknown_option_is_usage_error():
    path = write_config(with_database(MOVIES))
    result = run_cli(["serve", "--fast"], path)
    expect(result.returncode == 2 and "--fast" in result.stderr, result)


def test_config_check_prints_one_line_per_table():
    path = write_config(with_database(MOVIES))
    result = run_cli(["config", "check"], path)
    expect(result.returncode == 0, result)
    lines = [line for line in result.stdout.splitlines() if line.strip()]
    expect(len(lines) == 3, lines)
    expect(lines[0].startswith("director") and lines[1].startswith("movie"), lines)


def test_config_from_environment_variable():
    path = write_config(with_database(MOVIES))
    result = run_cli(["config", "check"], None, {"RESTABLE_CONFIG": path})
    expect(result.returncode == 0, result)


def test_missing_config_file_is_exit_1():
    result = run_cli(["config", "check"], "/nonexistent/restable.json")
    expect(result.returncode == 1, result)
    expect("/nonexistent/restable.json" in result.stderr, result.stderr)


def test_schema_sql_orders_by_foreign_keys():
    path = write_config(with_database(MOVIES))
    result = run_cli(["schema", "sql"], path)
    expect(result.returncode == 0, result)
    expect(result.stdout.index('CREATE TABLE "director"') <
           result.stdout.index('CREATE TABLE "movie"'), result.stdout)


def test_migrations_forwards_twice_is_a_no_op():
    server = Server(MOVIES)
    result = server.cli(["migrations", "forwards"])
    expect(result.returncode == 0, result)
    expect("nothing to apply" in result.stdout, result.stdout)
    expect(server.sql("SELECT count(*) FROM restable_migrations") == "1")
    result = server.cli(["migrations", "check"])
    expect(result.returncode == 0, result)


def test_migrations_check_reports_pending():
    server = Server(MOVIES, migrate=False)
    server.cli_ok(["migrations", "new", "--auto"])
    result = server.cli(["migrations", "check"])
    expect(result.returncode == 1, result)


def test_unreachable_database_is_one_line_error():
    path = write_config(with_database(MOVIES))
    result = run_cli(["migrations", "forwards"], path)
    expect(result.returncode == 1, result)
    expect("cannot connect" in result.stderr and len(result.stderr.strip().splitlines()) == 1,
           result.stderr)


def test_schema_graph_draws_tables_and_foreign_keys():
    path = write_config(with_database(MOVIES))
    result = run_cli(["schema", "graph", "--format", "dot"], path)
    expect(result.returncode == 0, result)
    expect(result.stdout.startswith("digraph restable {"), result.stdout)
    expect('"movie" -> "director" [label="director"]' in result.stdout, result.stdout)
    expect(run_cli(["schema", "graph", "--format", "png"], path).returncode == 2)


def test_schema_graph_renders_svg_through_graphviz():
    path = write_config(with_database(MOVIES))
    result = run_cli(["schema", "graph", "--format", "svg"], path)
    expect(result.returncode == 0, result)
    expect("<svg" in result.stdout and "</svg>" in result.stdout, result.stdout[:200])
    expect(">movie<" in result.stdout and ">director<" in result.stdout, result.stdout)
