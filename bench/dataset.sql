-- bench/dataset.sql — the fixed benchmark dataset: 1,000 directors, 100,000 movies.
-- Deterministic (no random()), so every run loads the same rows.
INSERT INTO director (name)
SELECT 'Director ' || g FROM generate_series(1, 1000) AS g;
INSERT INTO movie (name, rating, director, released, created, tags)
SELECT 'Movie ' || g,
       (g * 7919) % 11,
       1 + (g::bigint * 104729) % 1000,
       g % 3 <> 0,
       timestamptz '2020-01-01 00:00:00+00' + (g || ' minutes')::interval,
       ARRAY['tag' || (g % 17), 'tag' || (g % 5)]
FROM generate_series(1, 100000) AS g;
VACUUM ANALYZE;
