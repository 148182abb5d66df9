"""A bad config is refused before anything runs, naming the file, the JSON path and why."""
import json

from fixtures import MOVIES
from harness import expect, run_cli
from test_cli import write_config


def check(config):
    return run_cli(["config", "check"], write_config(config))


def test_invalid_json_names_line_and_column():
    result = check('{\n  "tables": {,\n}')
    expect(result.returncode == 1, result)
    expect("restable.json" in result.stderr and "line 2" in result.stderr, result.stderr)


def test_unknown_type_suggests_the_near_miss():
    config = json.loads(json.dumps(MOVIES))
    config["database"] = {"url": "postgresql://x@127.0.0.1/x"}
    config["tables"]["movie"]["columns"]["rating"]["type"] = "integr"
    result = check(config)
    expect(result.returncode == 1, result)
    expect('tables.movie.columns.rating.type: unknown type "integr" (did you mean "integer"?)'
           in result.stderr, result.stderr)


def test_all_errors_are_reported_at_once():
    config = json.loads(json.dumps(MOVIES))
    config["database"] = {"url": "postgresql://x@127.0.0.1/x"}
    config["tables"]["movie"]["page_sise"] = 3
    config["tables"]["director"]["columns"]["name"]["length"] = "long"
    config["tables"]["admin"] = {"columns": {}}
    result = check(config)
    expect(result.returncode == 1, result)
    lines = result.stderr.strip().splitlines()
    expect(len(lines) >= 3, lines)
    expect(any("tables.movie.page_sise" in line and "page_size" in line for line in lines), lines)
    expect(any("tables.director.columns.name.length" in line for line in lines), lines)
    expect(any("tables.admin" in line and "reserved" in line for line in lines), lines)


def test_unset_environment_variable_is_an_error():
    config = json.loads(json.dumps(MOVIES))
    config["database"] = {"url": "${RESTABLE_IT_UNSET_VARIABLE}"}
    result = check(config)
    expect(result.returncode == 1 and "RESTABLE_IT_UNSET_VARIABLE" in result.stderr, result)


def test_variable_default_is_used():
    config = json.loads(json.dumps(MOVIES))
    config["database"] = {"url": "${RESTABLE_IT_UNSET_VARIABLE:-postgresql://x@127.0.0.1/x}"}
    expect(check(config).returncode == 0)


def test_replicas_must_be_urls_other_than_the_primary():
    config = json.loads(json.dumps(MOVIES))
    primary = "postgresql://x@127.0.0.1/x"
    config["database"] = {"url": primary, "replicas": [primary, "", 5],
                          "replica_max_lag_ms": -1, "replica_pool_size": -1}
    result = check(config)
    expect(result.returncode == 1, result)
    for expected in ("database.replicas[0]: is the primary's own URL",
                     "database.replicas[1]: expected a non-empty connection URL",
                     "database.replicas[2]: expected a non-empty connection URL, got 5",
                     "database.replica_max_lag_ms", "database.replica_pool_size"):
        expect(expected in result.stderr, (expected, result.stderr))
    config["database"] = {"url": primary, "replicas": "postgresql://y@127.0.0.1/x"}
    result = check(config)
    expect("database.replicas: expected a list of connection URLs" in result.stderr,
           result.stderr)
    config["database"] = {"url": primary, "replicas": ["postgresql://y@127.0.0.2/x"]}
    expect(check(config).returncode == 0)
