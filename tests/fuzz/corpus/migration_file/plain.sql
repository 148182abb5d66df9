-- restable migration 20240102030405 add_rating
-- +forwards
ALTER TABLE "movie" ADD COLUMN "rating" integer;
-- +backwards
ALTER TABLE "movie" DROP COLUMN "rating";
