-- Wake-up signals of the work queues (issue 20): a statement that stores inbound messages, or puts
-- queued work back to pending (a retry, an operator replaying a dead letter), notifies the workers
-- (channel wadi_inbox) or the dispatchers (wadi_outbox) of every process; they LISTEN instead of
-- polling. One notification per statement at most (and PostgreSQL folds repeats within a
-- transaction), delivered at commit. Claims and completions move rows away from pending and
-- notify nobody.
CREATE FUNCTION wadi_notify_inbox() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
  PERFORM pg_notify('wadi_inbox', '');
  RETURN NULL;
END $$;
--> statement-breakpoint
CREATE FUNCTION wadi_notify_inbox_pending() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
  IF EXISTS (SELECT 1 FROM changed WHERE status = 'pending') THEN
    PERFORM pg_notify('wadi_inbox', '');
  END IF;
  RETURN NULL;
END $$;
--> statement-breakpoint
CREATE FUNCTION wadi_notify_outbox() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
  PERFORM pg_notify('wadi_outbox', '');
  RETURN NULL;
END $$;
--> statement-breakpoint
CREATE FUNCTION wadi_notify_outbox_pending() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
  IF EXISTS (SELECT 1 FROM changed WHERE status = 'pending') THEN
    PERFORM pg_notify('wadi_outbox', '');
  END IF;
  RETURN NULL;
END $$;
--> statement-breakpoint
CREATE TRIGGER inbox_messages_notify_insert AFTER INSERT ON inbox_messages
  FOR EACH STATEMENT EXECUTE FUNCTION wadi_notify_inbox();
--> statement-breakpoint
CREATE TRIGGER inbox_messages_notify_update AFTER UPDATE ON inbox_messages
  REFERENCING NEW TABLE AS changed FOR EACH STATEMENT EXECUTE FUNCTION wadi_notify_inbox_pending();
--> statement-breakpoint
CREATE TRIGGER outbox_messages_notify_insert AFTER INSERT ON outbox_messages
  FOR EACH STATEMENT EXECUTE FUNCTION wadi_notify_outbox();
--> statement-breakpoint
CREATE TRIGGER outbox_messages_notify_update AFTER UPDATE ON outbox_messages
  REFERENCING NEW TABLE AS changed FOR EACH STATEMENT EXECUTE FUNCTION wadi_notify_outbox_pending();
