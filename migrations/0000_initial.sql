CREATE TABLE "alert_events" (
	"id" bigserial PRIMARY KEY NOT NULL,
	"alert" text NOT NULL,
	"state" text NOT NULL,
	"value" text,
	"threshold" text,
	"summary" text,
	"started_at" timestamp with time zone NOT NULL,
	"resolved_at" timestamp with time zone,
	"last_notified_at" timestamp with time zone,
	"notify_errors" integer DEFAULT 0 NOT NULL
);
--> statement-breakpoint
CREATE TABLE "audit_log" (
	"id" bigserial PRIMARY KEY NOT NULL,
	"at" timestamp with time zone DEFAULT now() NOT NULL,
	"key_fingerprint" text NOT NULL,
	"action" text NOT NULL,
	"target" text,
	"ip" text,
	"detail" jsonb
);
--> statement-breakpoint
CREATE TABLE "conversations" (
	"id" bigserial PRIMARY KEY NOT NULL,
	"channel" text NOT NULL,
	"chat_id" text NOT NULL,
	"user_id" text,
	"display_name" text,
	"chat_type" text DEFAULT 'private' NOT NULL,
	"locale" text,
	"first_seen_at" timestamp with time zone DEFAULT now() NOT NULL,
	"last_seen_at" timestamp with time zone DEFAULT now() NOT NULL,
	"last_inbound_at" timestamp with time zone,
	"messages_in" integer DEFAULT 0 NOT NULL,
	"messages_out" integer DEFAULT 0 NOT NULL,
	"blocked" boolean DEFAULT false NOT NULL,
	"paused" boolean DEFAULT false NOT NULL,
	"context_reset_at" timestamp with time zone,
	"fallback_notified_at" timestamp with time zone,
	"meta" jsonb DEFAULT '{}'::jsonb NOT NULL
);
--> statement-breakpoint
CREATE TABLE "history" (
	"id" bigserial PRIMARY KEY NOT NULL,
	"conversation_id" bigint NOT NULL,
	"role" text NOT NULL,
	"content" text NOT NULL,
	"tokens" integer DEFAULT 0 NOT NULL,
	"created_at" timestamp with time zone DEFAULT now() NOT NULL
);
--> statement-breakpoint
CREATE TABLE "inbox_messages" (
	"id" bigserial PRIMARY KEY NOT NULL,
	"channel" text NOT NULL,
	"external_id" text NOT NULL,
	"chat_id" text NOT NULL,
	"conversation_id" bigint,
	"kind" text NOT NULL,
	"event" jsonb NOT NULL,
	"status" text DEFAULT 'pending' NOT NULL,
	"attempts" integer DEFAULT 0 NOT NULL,
	"available_at" timestamp with time zone DEFAULT now() NOT NULL,
	"lease_owner" text,
	"lease_until" timestamp with time zone,
	"last_error" text,
	"trace_context" text,
	"sent_at" timestamp with time zone,
	"received_at" timestamp with time zone DEFAULT now() NOT NULL,
	"claimed_at" timestamp with time zone,
	"llm_started_at" timestamp with time zone,
	"llm_ended_at" timestamp with time zone,
	"done_at" timestamp with time zone,
	"answered_by" bigint
);
--> statement-breakpoint
CREATE TABLE "kv" (
	"key" text PRIMARY KEY NOT NULL,
	"value" jsonb NOT NULL,
	"updated_at" timestamp with time zone DEFAULT now() NOT NULL
);
--> statement-breakpoint
CREATE TABLE "outbox_messages" (
	"id" bigserial PRIMARY KEY NOT NULL,
	"channel" text NOT NULL,
	"chat_id" text NOT NULL,
	"conversation_id" bigint,
	"inbox_id" bigint,
	"part" integer DEFAULT 0 NOT NULL,
	"kind" text DEFAULT 'text' NOT NULL,
	"body" text NOT NULL,
	"options" jsonb DEFAULT '{}'::jsonb NOT NULL,
	"status" text DEFAULT 'pending' NOT NULL,
	"attempts" integer DEFAULT 0 NOT NULL,
	"available_at" timestamp with time zone DEFAULT now() NOT NULL,
	"lease_owner" text,
	"lease_until" timestamp with time zone,
	"platform_message_id" text,
	"error_code" text,
	"error_title" text,
	"error_detail" text,
	"failure_reason" text,
	"trace_context" text,
	"created_at" timestamp with time zone DEFAULT now() NOT NULL,
	"sent_at" timestamp with time zone,
	"delivered_at" timestamp with time zone,
	"read_at" timestamp with time zone,
	"failed_at" timestamp with time zone
);
--> statement-breakpoint
CREATE TABLE "status_events" (
	"channel" text NOT NULL,
	"platform_message_id" text NOT NULL,
	"status" text NOT NULL,
	"occurred_at" timestamp with time zone,
	"received_at" timestamp with time zone DEFAULT now() NOT NULL,
	"applied" boolean DEFAULT false NOT NULL,
	"detail" jsonb,
	CONSTRAINT "status_events_channel_platform_message_id_status_pk" PRIMARY KEY("channel","platform_message_id","status")
);
--> statement-breakpoint
ALTER TABLE "history" ADD CONSTRAINT "history_conversation_id_conversations_id_fk" FOREIGN KEY ("conversation_id") REFERENCES "public"."conversations"("id") ON DELETE no action ON UPDATE no action;--> statement-breakpoint
ALTER TABLE "inbox_messages" ADD CONSTRAINT "inbox_messages_conversation_id_conversations_id_fk" FOREIGN KEY ("conversation_id") REFERENCES "public"."conversations"("id") ON DELETE no action ON UPDATE no action;--> statement-breakpoint
ALTER TABLE "outbox_messages" ADD CONSTRAINT "outbox_messages_conversation_id_conversations_id_fk" FOREIGN KEY ("conversation_id") REFERENCES "public"."conversations"("id") ON DELETE no action ON UPDATE no action;--> statement-breakpoint
CREATE INDEX "alert_events_alert_idx" ON "alert_events" USING btree ("alert","started_at");--> statement-breakpoint
CREATE INDEX "audit_at_idx" ON "audit_log" USING btree ("at");--> statement-breakpoint
CREATE UNIQUE INDEX "conversations_channel_chat_uq" ON "conversations" USING btree ("channel","chat_id");--> statement-breakpoint
CREATE INDEX "conversations_last_seen_idx" ON "conversations" USING btree ("last_seen_at");--> statement-breakpoint
CREATE INDEX "history_conversation_idx" ON "history" USING btree ("conversation_id","id");--> statement-breakpoint
CREATE UNIQUE INDEX "inbox_channel_external_uq" ON "inbox_messages" USING btree ("channel","external_id");--> statement-breakpoint
CREATE INDEX "inbox_pending_idx" ON "inbox_messages" USING btree ("available_at","id") WHERE status in ('pending', 'processing');--> statement-breakpoint
CREATE INDEX "inbox_chat_idx" ON "inbox_messages" USING btree ("channel","chat_id","id");--> statement-breakpoint
CREATE INDEX "inbox_conversation_idx" ON "inbox_messages" USING btree ("conversation_id","id");--> statement-breakpoint
CREATE INDEX "outbox_pending_idx" ON "outbox_messages" USING btree ("available_at","id") WHERE status in ('pending', 'sending');--> statement-breakpoint
CREATE UNIQUE INDEX "outbox_platform_id_uq" ON "outbox_messages" USING btree ("channel","platform_message_id");--> statement-breakpoint
CREATE UNIQUE INDEX "outbox_inbox_part_uq" ON "outbox_messages" USING btree ("inbox_id","part","kind");--> statement-breakpoint
CREATE INDEX "outbox_conversation_idx" ON "outbox_messages" USING btree ("conversation_id","id");