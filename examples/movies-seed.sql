-- A few rows for the demo (scripts/demo).
INSERT INTO director (name) VALUES
    ('Akira Kurosawa'), ('Agnès Varda'), ('Stanley Kubrick'), ('Hayao Miyazaki');
INSERT INTO movie (name, rating, director, released, tags) VALUES
    ('Seven Samurai', 9, 1, true, '{drama,action}'),
    ('Cléo from 5 to 7', 8, 2, true, '{drama}'),
    ('2001: A Space Odyssey', 9, 3, true, '{sci-fi}'),
    ('Spirited Away', 9, 4, true, '{animation,fantasy}'),
    ('Untitled project', 0, NULL, false, '{}');
