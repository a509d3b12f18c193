ALTER TABLE "conversations" ADD COLUMN "dead_letter_notified_at" timestamp with time zone;
