-- Scale a seeded database (bench/import_bench.py seed 20000: 20,040 tickets)
-- to ~1M tickets with :copies time-shifted copies (default 49 -> 1,002,000).
-- Events are only INSERTed (the append-only trigger forbids UPDATE/DELETE on
-- tickets_ticketevent); their ids come from the identity column. Run in two
-- passes so messages and events (the big ones) can load in parallel:
--   psql -v n=20040 -v copies=49 -v part=tickets  -f bench/ws1m_scale.sql DB
--   psql -v n=20040 -v copies=49 -v part=messages -f bench/ws1m_scale.sql DB &
--   psql -v n=20040 -v copies=49 -v part=events   -f bench/ws1m_scale.sql DB &
-- then ANALYZE. bench/WORKSPACE.md has the timings.
\timing on
SET synchronous_commit = off;
-- :n, the number of the last seeded ticket, is given (-v n=20040): after the
-- tickets pass it can no longer be read from the table.
SELECT max(id) AS m FROM tickets_message WHERE ticket_id <= :n \gset
SELECT :'part' = 'tickets' AS do_tickets, :'part' = 'messages' AS do_messages, :'part' = 'events' AS do_events \gset
\if :do_tickets
INSERT INTO tickets_ticket (id,subject,kind,status,priority,channel,external_id,import_digest,is_spam,is_deleted,
  created_at,updated_at,status_changed_at,solved_at,first_response_due_at,next_reply_due_at,resolution_due_at,sla_due_at,
  sla_next_check_at,assignee_id,follow_up_of_id,merged_into_id,organisation_id,queue_id,request_type_id,requester_id,
  awaiting_first_reply_since)
SELECT t.id + k*:n, t.subject, kind, status, priority, channel, NULL, '', is_spam, is_deleted,
  created_at - k*interval '3 hours', updated_at - k*interval '3 hours', status_changed_at - k*interval '3 hours',
  solved_at - k*interval '3 hours', first_response_due_at, next_reply_due_at, resolution_due_at,
  sla_due_at - k*interval '3 hours', sla_next_check_at, assignee_id, follow_up_of_id + k*:n, merged_into_id + k*:n,
  organisation_id, queue_id, request_type_id, requester_id,
  awaiting_first_reply_since - k*interval '3 hours'
FROM tickets_ticket t CROSS JOIN generate_series(1, :copies) k WHERE t.id <= :n;
INSERT INTO tickets_ticketsearch (ticket_id, queue_id, public_doc, internal_doc)
SELECT ticket_id + k*:n, queue_id, public_doc, internal_doc FROM tickets_ticketsearch s CROSS JOIN generate_series(1, :copies) k
WHERE s.ticket_id <= :n;
INSERT INTO tickets_ticket_tags (ticket_id, tag_id)
SELECT ticket_id + k*:n, tag_id FROM tickets_ticket_tags x CROSS JOIN generate_series(1, :copies) k WHERE x.ticket_id <= :n;
SELECT setval(pg_get_serial_sequence('tickets_ticket','id'), (SELECT max(id) FROM tickets_ticket));
\endif
\if :do_messages
INSERT INTO tickets_message (id,author_role,visibility,body,body_format,is_automated,is_description,channel,email_message_id,created_at,author_id,ticket_id)
SELECT m.id + k*:m, author_role, visibility, body, body_format, is_automated, is_description, channel, '',
  created_at - k*interval '3 hours', author_id, ticket_id + k*:n
FROM tickets_message m CROSS JOIN generate_series(1, :copies) k WHERE m.id <= :m;
SELECT setval(pg_get_serial_sequence('tickets_message','id'), (SELECT max(id) FROM tickets_message));
\endif
\if :do_events
-- One statement per copy, in id order, so each copy's events keep their order
-- (the identity column numbers them in insert order: the `seq`).
SELECT format($q$INSERT INTO tickets_ticketevent (kind,actor_role,occurred_at,visibility,is_automated,data,recorded_at,actor_id,ticket_id)
SELECT kind, actor_role, occurred_at - %s*interval '3 hours', visibility, is_automated, data, recorded_at, actor_id, ticket_id + %s
FROM tickets_ticketevent WHERE ticket_id <= %s ORDER BY id$q$, k, k * :n, :n)
FROM generate_series(1, :copies) k \gexec
\endif
