CREATE TABLE "unstorable_deliveries" (
	"id" bigserial PRIMARY KEY NOT NULL,
	"channel" text NOT NULL,
	"received_at" timestamp with time zone DEFAULT now() NOT NULL,
	"reason" text NOT NULL,
	"items" integer NOT NULL,
	"bytes" integer NOT NULL,
	"raw_base64" text NOT NULL
);
--> statement-breakpoint
CREATE INDEX "unstorable_received_idx" ON "unstorable_deliveries" USING btree ("received_at");
