"""tests/integration/fixtures.py — the configs the integration tests serve."""

MOVIES = {
    "tables": {
        "director": {
            "columns": {"name": {"type": "varchar", "length": 100, "unique": True}},
            "readable": "name",
        },
        "movie": {
            "columns": {
                "name": {"type": "varchar", "length": 200},
                "rating": {"type": "integer", "default": 0, "index": True},
                "director": {"type": "foreign_key", "references": "director", "null": True,
                             "on_delete": "cascade"},
                "released": {"type": "boolean", "default": False},
                "created": {"type": "timestamptz", "default": "now"},
                "tags": {"type": "array", "of": "varchar", "null": True},
                "api_key": {"type": "varchar", "length": 64, "secret": True, "null": True},
                "genre": {"type": "varchar", "length": 20, "null": True,
                          "choices": ["drama", "comedy", "sci-fi"]},
                "budget": {"type": "numeric", "precision": 12, "scale": 2, "null": True},
                "length": {"type": "interval", "null": True},
                "poster": {"type": "bytea", "null": True},
                "release_date": {"type": "date", "null": True},
                "code": {"type": "uuid", "default": "uuid4"},
                "extra": {"type": "jsonb", "null": True},
                "contact": {"type": "email", "null": True},
            },
            "page_size": 15, "max_page_size": 100, "max_joins": 1,
            "allow_bulk_delete": True, "allow_bulk_update": True,
        },
        "studio": {
            "columns": {"name": {"type": "text"}},
            "read_only": True,
        },
    }
}

# The column types MOVIES lacks (with a foreign key two joins deep): test_ops_openapi and
# test_csv serve it as "sample".
SAMPLE_TABLE = {
    "columns": {
        "id": {"type": "bigserial", "primary_key": True},
        "small": {"type": "smallint", "null": True},
        "big": {"type": "bigint", "default": 0},
        "ratio": {"type": "real", "null": True},
        "score": {"type": "double", "null": True},
        "at": {"type": "timestamp", "null": True},
        "clock": {"type": "time", "null": True},
        "notes": {"type": "text", "null": True},
        "doc": {"type": "json", "null": True},
        "ints": {"type": "array", "of": "integer", "null": True},
        "movie": {"type": "foreign_key", "references": "movie", "null": True},
    },
    "max_joins": 2,
}

SEED_SQL = """
INSERT INTO director (name) VALUES ('Akira Kurosawa'), ('Agnes Varda'), ('Stanley Kubrick');
INSERT INTO movie (name, rating, director, released, tags, api_key, genre, budget, poster,
                   release_date, extra, contact, length) VALUES
  ('Seven Samurai', 9, 1, true, '{drama,action}', 'k1', 'drama', 125000.50, '\\x68656c6c6f',
   '1954-04-26', '{"awards": 3}', 'a@example.com', 'PT3H27M'),
  ('Cleo from 5 to 7', 8, 2, true, '{drama}', 'k2', 'drama', NULL, NULL, NULL, NULL, NULL, NULL),
  ('2001: A Space Odyssey', 9, 3, true, '{sci-fi}', 'k3', 'sci-fi', NULL, NULL, NULL, NULL,
   NULL, NULL),
  ('Rashomon', 7, 1, true, '{drama,mystery}', NULL, NULL, NULL, NULL, NULL, NULL, NULL, NULL),
  ('100% Pure_Test', 3, NULL, false, '{}', NULL, 'comedy', NULL, NULL, NULL, NULL, NULL, NULL);
INSERT INTO studio (name) VALUES ('Toho');
"""
