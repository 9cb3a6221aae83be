from django.urls import path

from tickets.views import agent, agent_new, agent_ticket, customer, embed, files

app_name = "tickets"

urlpatterns = [
    path("agent/tickets/", agent.agent_ticket_list, name="agent-ticket-list"),
    path("agent/tickets/<int:ticket_id>/", agent.agent_ticket_detail, name="agent-ticket-detail"),
    path("agent/tickets/<int:ticket_id>/reply/", agent.agent_ticket_reply, name="agent-ticket-reply"),
    path("agent/tickets/<int:ticket_id>/status/", agent.agent_ticket_transition, name="agent-ticket-transition"),
    path("agent/tickets/<int:ticket_id>/assign/", agent.agent_ticket_assign, name="agent-ticket-assign"),
    path("agent/tickets/<int:ticket_id>/priority/", agent.agent_ticket_priority, name="agent-ticket-priority"),
    path("agent/tickets/<int:ticket_id>/queue/", agent.agent_ticket_queue, name="agent-ticket-queue"),
    path("agent/tickets/<int:ticket_id>/tags/", agent.agent_ticket_tags, name="agent-ticket-tags"),
    path("agent/tickets/<int:ticket_id>/time/", agent.agent_ticket_time, name="agent-ticket-time"),
    path("agent/tickets/<int:ticket_id>/heartbeat/", agent.agent_ticket_heartbeat, name="agent-ticket-heartbeat"),
    path("agent/tickets/<int:ticket_id>/live/", agent.agent_ticket_live, name="agent-ticket-live"),
    path(
        "agent/tickets/<int:ticket_id>/properties/",
        agent_ticket.agent_ticket_properties,
        name="agent-ticket-properties",
    ),
    path(
        "agent/tickets/<int:ticket_id>/properties/undo/",
        agent_ticket.agent_ticket_properties_undo,
        name="agent-ticket-properties-undo",
    ),
    path("agent/tickets/<int:ticket_id>/timeline/", agent_ticket.agent_ticket_timeline, name="agent-ticket-timeline"),
    path("agent/tickets/<int:ticket_id>/link/", agent_ticket.agent_ticket_link, name="agent-ticket-link"),
    path("agent/tickets/<int:ticket_id>/unlink/", agent_ticket.agent_ticket_unlink, name="agent-ticket-unlink"),
    path("agent/tickets/<int:ticket_id>/spam/", agent_ticket.agent_ticket_spam, name="agent-ticket-spam"),
    path("agent/tickets/<int:ticket_id>/delete/", agent_ticket.agent_ticket_delete, name="agent-ticket-delete"),
    path("agent/tickets/<int:ticket_id>/restore/", agent_ticket.agent_ticket_restore, name="agent-ticket-restore"),
    path("agent/tickets/<int:ticket_id>/split/", agent_ticket.agent_ticket_split, name="agent-ticket-split"),
    path("agent/tickets/bulk/", agent.agent_bulk, name="agent-bulk"),
    path("agent/tickets/count/", agent.agent_match_count, name="agent-match-count"),
    path("agent/tickets/new/", agent_new.agent_ticket_new, name="agent-ticket-new"),
    path("agent/customers/", agent_new.agent_customer_search, name="agent-customer-search"),
    path("agent/counts/", agent.agent_counts, name="agent-counts"),
    path("agent/views/", agent.agent_saved_view_create, name="agent-saved-view-create"),
    path("agent/views/<int:view_id>/delete/", agent.agent_saved_view_delete, name="agent-saved-view-delete"),
    path("agent/kb-links/", agent.agent_kb_suggest, name="agent-kb-suggest"),
    path("portal/", customer.customer_ticket_list, name="customer-ticket-list"),
    path("portal/new/", customer.customer_ticket_create, name="customer-ticket-create"),
    path("portal/tickets/<int:ticket_id>/", customer.customer_ticket_detail, name="customer-ticket-detail"),
    path("portal/tickets/<int:ticket_id>/reply/", customer.customer_ticket_reply, name="customer-ticket-reply"),
    path("portal/tickets/<int:ticket_id>/solve/", customer.customer_ticket_solve, name="customer-ticket-solve"),
    path("portal/embed/", embed.embed_request_form, name="embed"),
    path("portal/embed/confirm/<str:token>/", embed.embed_request_confirm, name="embed-confirm"),
    path("attachments/<int:attachment_id>/", files.attachment_download, name="attachment-download"),
]
