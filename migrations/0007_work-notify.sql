-- Wake-up signals of the work queues (issue 20): a statement that stores inbound messages, or puts
-- queued work back to pending (a retry, an operator replaying a dead letter), notifies the workers
-- (channel wadi_inbox) or the dispatchers (wadi_outbox) of every process; they LISTEN instead of
-- polling. One notification per statement at most (and PostgreSQL folds repeats within a
-- transaction), delivered at commit. Claims and completions move rows away from pending and
-- notify nobody.
-- One function per shape; the trigger names the channel (TG_ARGV[0]).
CREATE FUNCTION wadi_notify() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
  PERFORM pg_notify(TG_ARGV[0], '');
  RETURN NULL;
END $$;
--> statement-breakpoint
CREATE FUNCTION wadi_notify_pending() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
  IF EXISTS (SELECT 1 FROM changed WHERE status = 'pending') THEN
    PERFORM pg_notify(TG_ARGV[0], '');
  END IF;
  RETURN NULL;
END $$;
--> statement-breakpoint
CREATE TRIGGER inbox_messages_notify_insert AFTER INSERT ON inbox_messages
  FOR EACH STATEMENT EXECUTE FUNCTION wadi_notify('wadi_inbox');
--> statement-breakpoint
CREATE TRIGGER inbox_messages_notify_update AFTER UPDATE ON inbox_messages
  REFERENCING NEW TABLE AS changed FOR EACH STATEMENT EXECUTE FUNCTION wadi_notify_pending('wadi_inbox');
--> statement-breakpoint
CREATE TRIGGER outbox_messages_notify_insert AFTER INSERT ON outbox_messages
  FOR EACH STATEMENT EXECUTE FUNCTION wadi_notify('wadi_outbox');
--> statement-breakpoint
CREATE TRIGGER outbox_messages_notify_update AFTER UPDATE ON outbox_messages
  REFERENCING NEW TABLE AS changed FOR EACH STATEMENT EXECUTE FUNCTION wadi_notify_pending('wadi_outbox');
