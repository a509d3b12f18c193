ALTER TABLE "conversations" ADD COLUMN "handoff_requested_at" timestamp with time zone;--> statement-breakpoint
ALTER TABLE "conversations" ADD COLUMN "handoff_trigger" text;--> statement-breakpoint
ALTER TABLE "conversations" ADD COLUMN "handoff_notify_at" timestamp with time zone;--> statement-breakpoint
ALTER TABLE "conversations" ADD COLUMN "handoff_notify_attempts" integer DEFAULT 0 NOT NULL;--> statement-breakpoint
ALTER TABLE "conversations" ADD COLUMN "operator_active_at" timestamp with time zone;--> statement-breakpoint
ALTER TABLE "conversations" ADD COLUMN "opted_out_at" timestamp with time zone;--> statement-breakpoint
ALTER TABLE "inbox_messages" ADD COLUMN "in_history" boolean DEFAULT false NOT NULL;--> statement-breakpoint
CREATE INDEX "conversations_handoff_notify_idx" ON "conversations" USING btree ("handoff_notify_at") WHERE "conversations"."handoff_notify_at" is not null;--> statement-breakpoint
CREATE INDEX "conversations_paused_idx" ON "conversations" USING btree ("id") WHERE "conversations"."paused";--> statement-breakpoint
CREATE INDEX "inbox_unanswered_idx" ON "inbox_messages" USING btree ("conversation_id","id") WHERE "inbox_messages"."status" = 'unanswered';--> statement-breakpoint
CREATE INDEX "outbox_failed_idx" ON "outbox_messages" USING btree ("conversation_id","id") WHERE "outbox_messages"."status" = 'failed';
