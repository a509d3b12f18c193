ALTER TABLE "inbox_messages" ADD COLUMN "media" jsonb;
