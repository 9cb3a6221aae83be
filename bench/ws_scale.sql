-- Scale a 100k-ticket import (copy of helpdesk_bench) to 1M tickets for the
-- workspace benchmark: 9 shifted copies of tickets, messages and events.
\timing on
SET synchronous_commit = off;
INSERT INTO tickets_ticket (id,subject,kind,status,priority,channel,external_id,import_digest,is_spam,is_deleted,created_at,updated_at,status_changed_at,solved_at,first_response_due_at,next_reply_due_at,resolution_due_at,sla_due_at,assignee_id,follow_up_of_id,merged_into_id,organisation_id,queue_id,request_type_id,requester_id)
SELECT t.id + k*100000, t.subject, kind, status, priority, channel, NULL, '', is_spam, is_deleted,
       created_at - k*interval '37 minutes', updated_at - k*interval '37 minutes', status_changed_at - k*interval '37 minutes', solved_at - k*interval '37 minutes',
       first_response_due_at, next_reply_due_at, resolution_due_at, sla_due_at - k*interval '37 minutes', assignee_id, NULL, NULL, organisation_id, queue_id, request_type_id, requester_id
FROM tickets_ticket t CROSS JOIN generate_series(1,9) k WHERE t.id <= 100000;
INSERT INTO tickets_message (id,author_role,visibility,body,body_format,is_automated,is_description,channel,email_message_id,created_at,author_id,ticket_id)
SELECT m.id + k*393534, author_role, visibility, body, body_format, is_automated, is_description, channel, '', created_at - k*interval '37 minutes', author_id, ticket_id + k*100000
FROM tickets_message m CROSS JOIN generate_series(1,9) k WHERE m.id <= 393534;
INSERT INTO tickets_ticketevent (kind,actor_role,occurred_at,visibility,is_automated,data,recorded_at,actor_id,ticket_id)
SELECT kind, actor_role, occurred_at - k*interval '37 minutes', visibility, is_automated, data, recorded_at, actor_id, ticket_id + k*100000
FROM tickets_ticketevent e CROSS JOIN generate_series(1,9) k WHERE e.ticket_id <= 100000;
SELECT setval(pg_get_serial_sequence('tickets_ticket','id'), (SELECT max(id) FROM tickets_ticket));
SELECT setval(pg_get_serial_sequence('tickets_message','id'), (SELECT max(id) FROM tickets_message));
ANALYZE;
