"""Ticket API: lists and reads through selectors, every change through one
service call (STYLE 2.7). No mutating ModelViewSet mixins."""

import contextlib
import json
from collections.abc import Iterator
from typing import Any

from django.db import transaction
from django.db.models import QuerySet
from django.http import FileResponse, Http404
from django.utils.translation import gettext as _
from drf_spectacular.types import OpenApiTypes
from drf_spectacular.utils import OpenApiResponse, extend_schema
from rest_framework import exceptions, generics, status, viewsets
from rest_framework.decorators import action, api_view, permission_classes
from rest_framework.parsers import FormParser, MultiPartParser
from rest_framework.permissions import AllowAny
from rest_framework.renderers import BaseRenderer, JSONRenderer
from rest_framework.request import Request
from rest_framework.response import Response

from accounts.request_user import signed_in
from helpdesk.lib.access import require_staff
from helpdesk.lib.api import ErrorSerializer, IdCursorPagination
from helpdesk.lib.db_router import replica_reads
from helpdesk.lib.exceptions import Conflict
from tickets import bulk, operations, policy, selectors, services
from tickets.api import selectors as api_selectors
from tickets.api import serializers as s
from tickets.attachments import attachment_file_response
from tickets.models import Attachment, Message, Queue, RequestType, Ticket
from tickets.sla_dirty import sla_fresh

CONFLICT = {409: ErrorSerializer}


def _input(serializer_class: type, data: Any) -> dict[str, Any]:
    serializer = serializer_class(data=data)
    serializer.is_valid(raise_exception=True)
    return dict(serializer.validated_data)


@contextlib.contextmanager
def _refused_as_field_error() -> Iterator[None]:
    """A policy refusal is a 400 keyed by the input field it is about."""
    try:
        yield
    except policy.Refused as exc:
        raise exceptions.ValidationError({exc.field: [exc.message]}) from None


def _form_value(request: Request, name: str, default: str) -> Any:
    """A field of a form or JSON object body (an upload is never a JSON list)."""
    data = request.data
    return data.get(name, default) if hasattr(data, "get") else default


class _CreateChecks:
    """A create's checks for one caller (who may set what, which queue and
    requester), with each lookup made once per slug or address: a bulk
    create names the same few many times."""

    def __init__(self, user: Any) -> None:
        self.user = user
        self._request_types: dict[str, RequestType | None] = {}
        self._queues: dict[str, Queue | None] = {}
        self._requesters: dict[str, Any] = {}

    def _request_type(self, slug: str) -> RequestType | None:
        if slug not in self._request_types:
            self._request_types[slug] = api_selectors.request_type_get_active(slug=slug)
        return self._request_types[slug]

    def _queue(self, slug: str) -> Queue | None:
        """The active queue if the caller works in it (managers: any)."""
        if slug not in self._queues:
            queue = api_selectors.queue_get_active(slug=slug)
            if queue is not None and not api_selectors.queue_is_workable_by(user=self.user, queue=queue):
                queue = None
            self._queues[slug] = queue
        return self._queues[slug]

    def _requester(self, email: str) -> Any:
        key = email.strip().lower()
        if key not in self._requesters:
            self._requesters[key] = api_selectors.user_get_active_by_email(email=email)
        return self._requesters[key]

    def check(self, data: dict[str, Any]) -> tuple[dict[str, Any], dict[str, list[str]]]:
        """(ticket_create's keyword arguments but the actor, errors by field)."""
        user = self.user
        errors: dict[str, list[str]] = {}
        if not user.is_staff_role:
            for field in ("requester_email", "priority", "tags", "queue"):
                if field in data:
                    errors[field] = [_("Only agents can set this.")]
            if "request_type" not in data:
                errors["request_type"] = [_("Choose a request type.")]
        queue: Queue | None = None
        request_type: RequestType | None = None
        if "request_type" in data:
            request_type = self._request_type(data["request_type"])
            if request_type is None:
                errors["request_type"] = [_("No such request type.")]
            else:
                queue = request_type.queue
        if "queue" in data and user.is_staff_role:
            queue = self._queue(data["queue"])
            if queue is None:
                errors["queue"] = [_("No such queue among yours.")]
        if queue is None and not errors:
            errors["queue"] = [_("Give a request type or a queue.")]
        requester = user
        if "requester_email" in data and user.is_staff_role:
            found = self._requester(data["requester_email"])
            if found is None:
                errors["requester_email"] = [_("No active user with this email.")]
            else:
                requester = found
        if errors or queue is None:
            return {}, errors or {"queue": [_("Give a request type or a queue.")]}
        kwargs = {
            "subject": data["subject"],
            "body": data["body"],
            "body_format": data["body_format"],
            "queue": queue,
            "request_type": request_type,
            "requester": requester,
            "channel": Ticket.Channel.API,
            "priority": data.get("priority", Ticket.Priority.NORMAL),
            "tags": data.get("tags", ()),
        }
        return kwargs, {}


_LIST_FILTERS = frozenset(s.TicketListFilterInputSerializer().fields)


class MessageCursorPagination(IdCursorPagination):
    ordering = "id"


class TicketViewSet(viewsets.GenericViewSet):
    """Tickets the caller may see (404 for any other)."""

    serializer_class = s.TicketOutputSerializer
    pagination_class = IdCursorPagination

    def get_queryset(self) -> QuerySet[Ticket, dict[str, Any]]:
        """The list's rows as values (docs/api.md, "The ticket list")."""
        if getattr(self, "swagger_fake_view", False):
            empty: QuerySet[Ticket, dict[str, Any]] = Ticket.objects.none().values(*api_selectors.TICKET_OUTPUT_VALUES)
            return empty
        params = self.request.query_params
        # No filter given (a plain page): nothing to parse, the same {}.
        filters = _input(s.TicketListFilterInputSerializer, params) if _LIST_FILTERS.intersection(params) else {}
        return api_selectors.ticket_list_values(user=self.request.user, filters=filters)

    def _ticket(self) -> Ticket:
        return api_selectors.ticket_get_for_api(user=self.request.user, ticket_id=self.kwargs["pk"])

    def _ticket_checked(self) -> int:
        """The access check alone (one query for the id), for commands that
        answer with something other than the ticket (reply, note)."""
        return api_selectors.ticket_id_for_user(user=self.request.user, ticket_id=self.kwargs["pk"])

    def _answer(self, ticket: Ticket, code: int = status.HTTP_200_OK) -> Response:
        """The ticket as the caller may now see it (an escalation may move it
        out of the caller's queues: the service's row is shown then)."""
        with contextlib.suppress(Http404):
            ticket = api_selectors.ticket_get_for_api(user=self.request.user, ticket_id=ticket.pk)
        return Response(s.TicketOutputSerializer(ticket).data, status=code)

    @extend_schema(parameters=[s.TicketListFilterInputSerializer], responses=s.TicketOutputSerializer(many=True))
    def list(self, request: Request) -> Response:
        rows = self.paginate_queryset(self.get_queryset()) or []
        tags = api_selectors.ticket_tag_names(ticket_ids=[row["id"] for row in rows])
        return self.get_paginated_response(s.ticket_rows_output(rows, tags))

    @extend_schema(responses=s.TicketOutputSerializer)
    def retrieve(self, request: Request, pk: str) -> Response:
        # Due instants computed on read while a refresh is pending (tickets/sla_dirty.py).
        return Response(s.TicketOutputSerializer(sla_fresh([self._ticket()])[0]).data)

    @extend_schema(request=s.TicketCreateInputSerializer, responses={201: s.TicketOutputSerializer})
    def create(self, request: Request) -> Response:
        """Customers create for themselves in a request type; agents may name
        a queue of theirs and a requester (on their behalf)."""
        data = _input(s.TicketCreateInputSerializer, request.data)
        user = signed_in(request)
        kwargs, errors = _CreateChecks(user).check(data)
        if errors:
            raise exceptions.ValidationError(errors)
        ticket = services.ticket_create(**kwargs, actor=user)
        # The creator may see what they created (own request, own queue or
        # a manager): no access query, and the rows in hand when routing left
        # the ticket as created (else one fetch of what the serializer reads).
        ticket = api_selectors.ticket_for_output_from(ticket, tags=kwargs["tags"])
        return Response(s.TicketOutputSerializer(ticket).data, status=status.HTTP_201_CREATED)

    @extend_schema(
        request=s.TicketCreateManyInputSerializer,
        responses={201: s.TicketCreateManyOutputSerializer},
    )
    @action(detail=False, methods=["post"], url_path="create-many", url_name="create-many")
    def create_many(self, request: Request) -> Response:
        """Create up to 100 tickets in one transaction (docs/api-bulk.md).
        Each item is what `POST /tickets/` takes, with the same checks; any
        bad item makes a 400 whose `details.tickets` maps each bad item's
        index to its field errors, and nothing is written. The answer lists
        each new ticket's id in item order."""
        data = _input(s.TicketCreateManyShapeSerializer, request.data)
        user = signed_in(request)
        checks = _CreateChecks(user)
        items: list[dict[str, Any]] = []
        errors: dict[str, Any] = {}
        for index, raw in enumerate(data["tickets"]):
            item = s.TicketCreateInputSerializer(data=raw)
            if not item.is_valid():
                errors[str(index)] = item.errors
                continue
            kwargs, refused = checks.check(dict(item.validated_data))
            if refused:
                errors[str(index)] = refused
            items.append(kwargs)
        if errors:
            raise exceptions.ValidationError({"tickets": errors})
        try:
            tickets = bulk.tickets_create_many(items=items, actor=user)
        except bulk.ItemRefused as exc:
            refusal = {exc.error.code: [exc.error.message]}
            raise exceptions.ValidationError({"tickets": {str(exc.index): refusal}}) from None
        body = {"count": len(tickets), "results": [{"index": i, "id": t.pk} for i, t in enumerate(tickets)]}
        return Response(s.TicketCreateManyOutputSerializer(body).data, status=status.HTTP_201_CREATED)

    # --- Commands ------------------------------------------------------

    def _message(self, ticket_id: int, visibility: str) -> Response:
        data = _input(s.TicketReplyInputSerializer, self.request.data)
        if data.get("status"):
            # Reply and set status in one transaction (agents only).
            require_staff(self.request.user)
            with transaction.atomic():
                message = services.message_post(
                    ticket_id=ticket_id,
                    author=signed_in(self.request),
                    body=data["body"],
                    body_format=data["body_format"],
                    visibility=visibility,
                    channel=Ticket.Channel.API,
                    open_on_reply=False,
                )
                operations.reply_status_set(ticket_id=ticket_id, actor=signed_in(self.request), status=data["status"])
        else:
            message = services.message_post(
                ticket_id=ticket_id,
                author=signed_in(self.request),
                body=data["body"],
                body_format=data["body_format"],
                visibility=visibility,
                channel=Ticket.Channel.API,
            )
        # The caller's own message, as written (a JSON body has no attachments).
        return Response(
            s.MessageOutputSerializer(api_selectors.message_for_output_from(message)).data,
            status=status.HTTP_201_CREATED,
        )

    @extend_schema(request=s.TicketReplyInputSerializer, responses={201: s.MessageOutputSerializer, **CONFLICT})
    @action(detail=True, methods=["post"])
    def reply(self, request: Request, pk: str) -> Response:
        """A public reply. A customer reply reopens a solved or pending ticket;
        on a closed ticket it starts a linked follow-up ticket. Agents may
        give `status` ("send as"): the reply and the status change are one
        transaction (409 and nothing saved when the move is refused)."""
        return self._message(self._ticket_checked(), Message.Visibility.PUBLIC)

    @extend_schema(request=s.TicketReplyInputSerializer, responses={201: s.MessageOutputSerializer, **CONFLICT})
    @action(detail=True, methods=["post"])
    def note(self, request: Request, pk: str) -> Response:
        """An internal note (agents only; never shown to customers); with
        `status`, also sets the status in the same transaction."""
        ticket_id = self._ticket_checked()
        require_staff(request.user)
        return self._message(ticket_id, Message.Visibility.INTERNAL)

    @extend_schema(request=s.TicketTransitionInputSerializer, responses={200: s.TicketOutputSerializer, **CONFLICT})
    @action(detail=True, methods=["post"])
    def transition(self, request: Request, pk: str) -> Response:
        """Change the status; 409 `invalid_transition` when the table refuses.
        Customers may only mark their ticket solved (a reply reopens it)."""
        ticket = self._ticket()
        data = _input(s.TicketTransitionInputSerializer, request.data)
        ticket = services.ticket_transition(
            ticket_id=ticket.pk, target=data["status"], actor=signed_in(request), note=data["note"]
        )
        return self._answer(ticket)

    @extend_schema(request=s.TicketAssignInputSerializer, responses={200: s.TicketOutputSerializer, **CONFLICT})
    @action(detail=True, methods=["post"])
    def assign(self, request: Request, pk: str) -> Response:
        """Assign to an active agent of the ticket's queue, or to yourself;
        `assignee_id: null` unassigns."""
        ticket = self._ticket()
        require_staff(request.user)
        data = _input(s.TicketAssignInputSerializer, request.data)
        assignee = None
        if data["assignee_id"] is not None:
            assignee = api_selectors.staff_get_active(user_id=data["assignee_id"])
            if assignee is None:
                raise exceptions.ValidationError({"assignee_id": [_("No active agent with this id.")]})
        with _refused_as_field_error():
            policy.assignee_check(actor=request.user, ticket=ticket, assignee=assignee, field="assignee_id")
        ticket = services.ticket_assign(
            ticket_id=ticket.pk, assignee=assignee, actor=signed_in(request), reason=data["reason"]
        )
        return self._answer(ticket)

    @extend_schema(request=s.TicketEscalateInputSerializer, responses={200: s.TicketOutputSerializer, **CONFLICT})
    @action(detail=True, methods=["post"])
    def escalate(self, request: Request, pk: str) -> Response:
        """Move the ticket to another queue with a reason (support <-> service):
        one of your queues or a queue of the other kind (managers: any active
        queue); another queue is a 400 on `queue`."""
        ticket = self._ticket()
        require_staff(request.user)
        data = _input(s.TicketEscalateInputSerializer, request.data)
        with _refused_as_field_error():
            queue = policy.queue_check(
                actor=request.user,
                ticket=ticket,
                queue=api_selectors.queue_get_active(slug=data["queue"]),
                field="queue",
            )
        ticket = services.ticket_escalate(
            ticket_id=ticket.pk, queue=queue, actor=signed_in(request), reason=data["reason"]
        )
        return self._answer(ticket)

    @extend_schema(request=s.TicketMergeInputSerializer, responses={200: s.TicketOutputSerializer, **CONFLICT})
    @action(detail=True, methods=["post"])
    def merge(self, request: Request, pk: str) -> Response:
        """Merge this ticket into `target_id` (both must be visible to you);
        answers the target."""
        ticket = self._ticket()
        require_staff(request.user)
        data = _input(s.TicketMergeInputSerializer, request.data)
        with _refused_as_field_error():
            target = policy.merge_target_get(actor=request.user, target_id=data["target_id"], field="target_id")
        target = services.ticket_merge(source_id=ticket.pk, target_id=target.pk, actor=signed_in(request))
        return self._answer(target)

    @extend_schema(request=s.TicketTagInputSerializer, responses={200: s.TicketOutputSerializer, **CONFLICT})
    @action(detail=True, methods=["post"])
    def tag(self, request: Request, pk: str) -> Response:
        ticket = self._ticket()
        require_staff(request.user)
        data = _input(s.TicketTagInputSerializer, request.data)
        ticket = services.ticket_tag(
            ticket_id=ticket.pk, actor=signed_in(request), add=data["add"], remove=data["remove"]
        )
        return self._answer(ticket)

    @extend_schema(request=s.TicketPriorityInputSerializer, responses={200: s.TicketOutputSerializer, **CONFLICT})
    @action(detail=True, methods=["post"])
    def priority(self, request: Request, pk: str) -> Response:
        ticket = self._ticket()
        require_staff(request.user)
        data = _input(s.TicketPriorityInputSerializer, request.data)
        ticket = services.ticket_set_priority(ticket_id=ticket.pk, priority=data["priority"], actor=signed_in(request))
        return self._answer(ticket)

    # --- Ticket operations (issue #14; docs/workspace-ticket-page.md) ----------

    @extend_schema(request=s.TicketPropertiesInputSerializer, responses={200: s.TicketOutputSerializer, **CONFLICT})
    @action(detail=True, methods=["post"])
    def properties(self, request: Request, pk: str) -> Response:
        """Change several properties in one transaction (only the keys
        given). Every target passes the same policy as the single commands;
        a refusal is a 400 keyed by its field and nothing is saved."""
        ticket = self._ticket()
        require_staff(request.user)
        data = _input(s.TicketPropertiesInputSerializer, request.data)
        errors: dict[str, list[str]] = {}
        assignee: Any = "unchanged"
        if "assignee_id" in data:
            assignee = None
            if data["assignee_id"] is not None:
                assignee = api_selectors.staff_get_active(user_id=data["assignee_id"])
                if assignee is None:
                    errors["assignee_id"] = [_("No active agent with this id.")]
        queue = None
        if "queue" in data:
            queue = api_selectors.queue_get_active(slug=data["queue"])
            if queue is None:
                errors["queue"] = [_("No such queue.")]
        ccs = None
        if "cc_emails" in data:
            try:
                ccs = policy.cc_users_get(emails=data["cc_emails"], field="cc_emails")
            except policy.Refused as exc:
                errors[exc.field] = [exc.message]
        if errors:
            raise exceptions.ValidationError(errors)
        try:
            result = operations.ticket_properties_update(
                ticket_id=ticket.pk,
                actor=signed_in(request),
                status=data.get("status"),
                priority=data.get("priority"),
                assignee=assignee,
                queue=queue,
                reason=data["reason"],
                tags=data.get("tags"),
                ccs=ccs,
            )
        except operations.PropertiesRefused as exc:
            names = {"assignee": "assignee_id", "ccs": "cc_emails"}
            raise exceptions.ValidationError({names.get(k, k): [v] for k, v in exc.errors.items()}) from None
        return self._answer(result.ticket)

    def _link_change(self, change: Any) -> Response:
        """Link or unlink: both tickets checked by `change` (tickets.policy)."""
        ticket = self._ticket()
        require_staff(self.request.user)
        data = _input(s.TicketOtherInputSerializer, self.request.data)
        with _refused_as_field_error():
            change(actor=self.request.user, ticket=ticket, other_id=data["ticket_id"], field="ticket_id")
        return self._links(ticket)

    def _links(self, ticket: Ticket) -> Response:
        related = operations.related_list_for_user(actor=signed_in(self.request), ticket=ticket)
        return Response(
            s.TicketLinksOutputSerializer({"ticket_id": ticket.pk, "related_ids": [t.pk for t in related]}).data
        )

    @extend_schema(request=s.TicketOtherInputSerializer, responses={200: s.TicketLinksOutputSerializer, **CONFLICT})
    @action(detail=True, methods=["post"])
    def link(self, request: Request, pk: str) -> Response:
        """Link to another ticket you may see (400 on `ticket_id` otherwise)."""
        return self._link_change(operations.ticket_link_for_user)

    @extend_schema(request=s.TicketOtherInputSerializer, responses={200: s.TicketLinksOutputSerializer, **CONFLICT})
    @action(detail=True, methods=["post"])
    def unlink(self, request: Request, pk: str) -> Response:
        """Remove a link (both tickets must be visible to you)."""
        return self._link_change(operations.ticket_unlink_for_user)

    @extend_schema(request=s.TicketCcsInputSerializer, responses={200: s.TicketCcsOutputSerializer, **CONFLICT})
    @action(detail=True, methods=["post"])
    def ccs(self, request: Request, pk: str) -> Response:
        """Replace the CC list with these people (active accounts)."""
        ticket = self._ticket()
        require_staff(request.user)
        data = _input(s.TicketCcsInputSerializer, request.data)
        with _refused_as_field_error():
            operations.ticket_set_ccs_for_user(
                actor=signed_in(request), ticket=ticket, emails=data["emails"], field="emails"
            )
        emails = list(ticket.ccs.order_by("email").values_list("email", flat=True))
        return Response(s.TicketCcsOutputSerializer({"ticket_id": ticket.pk, "emails": emails}).data)

    @extend_schema(request=None, responses={200: s.TicketOutputSerializer, **CONFLICT})
    @action(detail=True, methods=["post"])
    def spam(self, request: Request, pk: str) -> Response:
        """Mark as spam (it leaves every list and metric; `restore` undoes)."""
        ticket = self._ticket()
        require_staff(request.user)
        return self._answer(operations.ticket_mark_spam_for_user(actor=signed_in(request), ticket=ticket))

    @extend_schema(request=None, responses={200: s.TicketOutputSerializer, **CONFLICT})
    # Not a method named `delete`: that would be the view's HTTP DELETE handler.
    @action(detail=True, methods=["post"], url_path="delete", url_name="delete")
    def trash(self, request: Request, pk: str) -> Response:
        """Move to the trash (managers and admins; 403 for agents)."""
        ticket = self._ticket()
        require_staff(request.user)
        return self._answer(operations.ticket_delete_for_user(actor=signed_in(request), ticket=ticket))

    @extend_schema(request=None, responses={200: s.TicketOutputSerializer, **CONFLICT})
    @action(detail=True, methods=["post"])
    def restore(self, request: Request, pk: str) -> Response:
        """Back from spam (agents) or from the trash (managers and admins)."""
        ticket = self._ticket()
        require_staff(request.user)
        return self._answer(operations.ticket_restore_for_user(actor=signed_in(request), ticket=ticket))

    @extend_schema(request=s.TicketSplitInputSerializer, responses={201: s.TicketOutputSerializer, **CONFLICT})
    @action(detail=True, methods=["post"])
    def split(self, request: Request, pk: str) -> Response:
        """Split one of this ticket's messages off into a new ticket (same
        requester and queue, linked both ways); answers the new ticket."""
        ticket = self._ticket()
        require_staff(request.user)
        data = _input(s.TicketSplitInputSerializer, request.data)
        with _refused_as_field_error():
            new = operations.ticket_split(
                ticket_id=ticket.pk, message_id=data["message_id"], actor=signed_in(request), subject=data["subject"]
            )
        return self._answer(new, status.HTTP_201_CREATED)

    @extend_schema(request=s.TicketCsatInputSerializer, responses={201: s.TicketCsatOutputSerializer, **CONFLICT})
    @action(detail=True, methods=["post"])
    def csat(self, request: Request, pk: str) -> Response:
        """The requester rates their solved (or closed) ticket 1-5 with an
        optional comment; a later rating replaces the earlier one. Others
        who can see the ticket get 403; a ticket not yet solved is a 409
        `not_solved`."""
        ticket = self._ticket()
        if ticket.requester_id != request.user.pk:
            raise exceptions.PermissionDenied(_("Only the requester can rate this ticket."))
        if ticket.status not in (Ticket.Status.SOLVED, Ticket.Status.CLOSED):
            raise Conflict(_("Only a solved ticket can be rated."), code="not_solved")
        data = _input(s.TicketCsatInputSerializer, request.data)
        event = services.survey_respond(
            ticket_id=ticket.pk, survey="csat", value=data["rating"], comment=data["comment"], actor=request.user
        )
        body = {
            "ticket_id": ticket.pk,
            "event_id": event.pk,
            "rating": event.data["value"],
            "comment": event.data["comment"],
            "occurred_at": event.occurred_at,
        }
        return Response(s.TicketCsatOutputSerializer(body).data, status=status.HTTP_201_CREATED)

    # --- Messages and attachments -----------------------------------------

    @extend_schema(responses=s.MessageOutputSerializer(many=True), parameters=[])
    @action(detail=True, methods=["get"], pagination_class=MessageCursorPagination)
    def messages(self, request: Request, pk: str) -> Response:
        """Messages in order (and those of tickets merged into this one).
        Customers get public replies only."""
        ticket = self._ticket()
        qs = selectors.message_list_for_ticket(user=request.user, ticket=ticket)
        page = self.paginate_queryset(qs)
        return self.get_paginated_response(s.MessageOutputSerializer(page, many=True).data)

    @extend_schema(
        request={"multipart/form-data": s.AttachmentUploadInputSerializer},
        responses={201: s.MessageOutputSerializer, **CONFLICT},
    )
    @action(detail=True, methods=["post"], parser_classes=[MultiPartParser, FormParser])
    def attachments(self, request: Request, pk: str) -> Response:
        """Upload files as a new message (public, or internal for agents);
        size, count, name and content-type checks apply (docs/uploads.md;
        `attachment_rejected`)."""
        ticket = self._ticket()
        serializer = s.AttachmentUploadInputSerializer(
            data={
                "files": request.FILES.getlist("files"),
                "body": _form_value(request, "body", ""),
                "visibility": _form_value(request, "visibility", Message.Visibility.PUBLIC),
            }
        )
        serializer.is_valid(raise_exception=True)
        data = serializer.validated_data
        if data["visibility"] == Message.Visibility.INTERNAL:
            require_staff(request.user)
        files = [services.IncomingFile.from_upload(f) for f in data["files"]]
        services.attachments_validate(files)
        message = services.message_post(
            ticket_id=ticket.pk,
            author=signed_in(request),
            body=data["body"],
            visibility=data["visibility"],
            attachments=files,
            channel=Ticket.Channel.API,
        )
        message = selectors.message_list_for_ticket(user=request.user, ticket=message.ticket).get(pk=message.pk)
        return Response(s.MessageOutputSerializer(message).data, status=status.HTTP_201_CREATED)


class BinaryRenderer(BaseRenderer):
    """Lets clients ask for the file (`Accept: application/octet-stream`);
    errors are still written as JSON."""

    media_type = "application/octet-stream"
    format = "bin"
    charset = None
    render_style = "binary"

    def render(self, data: Any, accepted_media_type: str | None = None, renderer_context: Any = None) -> bytes:
        if isinstance(data, bytes):
            return data
        return json.dumps(data).encode()


class AttachmentViewSet(viewsets.GenericViewSet):
    queryset = Attachment.objects.none()  # for the schema's id type; reads use selectors
    renderer_classes = [JSONRenderer, BinaryRenderer]

    @extend_schema(
        responses={
            (200, "application/octet-stream"): OpenApiResponse(OpenApiTypes.BINARY, description="The file."),
        }
    )
    @action(detail=True, methods=["get"], url_path="download")
    def download(self, request: Request, pk: str) -> FileResponse:
        """The file, always as a download, to those who may see its message."""
        attachment = selectors.attachment_get_for_user(user=request.user, attachment_id=pk)
        try:
            # Always octet-stream: the API never lets a browser render a file.
            return attachment_file_response(attachment, content_type="application/octet-stream")
        except (FileNotFoundError, ValueError):
            raise Http404(_("No such file.")) from None


class EventListView(generics.GenericAPIView):
    """Incremental export of the event log for BI and warehouse sync."""

    serializer_class = s.EventOutputSerializer
    pagination_class = None

    @extend_schema(parameters=[s.EventListInputSerializer], responses=s.EventPageOutputSerializer)
    @replica_reads
    def get(self, request: Request) -> Response:
        """Events after `after` (an event id) in id order, on tickets you may
        see. Keep `next_after` and pass it back to continue; events appear
        a couple of seconds after they are written, so none is skipped."""
        data = _input(s.EventListInputSerializer, request.query_params)
        events, has_more = api_selectors.event_feed_for_user(
            user=request.user, after=data["after"], limit=data["limit"], ticket_id=data.get("ticket")
        )
        context = {"staff": selectors.user_may_see_internal(user=request.user)}
        body = {
            "results": s.EventOutputSerializer(events, many=True, context=context).data,
            "next_after": events[-1].pk if events else data["after"],
            "has_more": has_more,
        }
        return Response(body)


class QueueViewSet(viewsets.GenericViewSet):
    """Queues you work in (managers: all). Customers get none."""

    serializer_class = s.QueueOutputSerializer
    pagination_class = None

    @extend_schema(responses=s.QueueOutputSerializer(many=True))
    def list(self, request: Request) -> Response:
        queues = selectors.queue_list_for_user(user=request.user).order_by("name", "id")
        return Response(s.QueueOutputSerializer(queues, many=True).data)


class RequestTypeViewSet(viewsets.GenericViewSet):
    """What a ticket can be about (the portal's choices)."""

    serializer_class = s.RequestTypeOutputSerializer
    pagination_class = None

    @extend_schema(responses=s.RequestTypeOutputSerializer(many=True))
    def list(self, request: Request) -> Response:
        return Response(s.RequestTypeOutputSerializer(selectors.request_type_list_active(), many=True).data)


@extend_schema(exclude=True)
@api_view(["GET", "POST", "PUT", "PATCH", "DELETE"])
@permission_classes([AllowAny])
def api_not_found(request: Request, path: str = "") -> Response:
    """Anything under /api/v1/ that matches no route: a JSON 404 (not the
    HTML page of the site)."""
    raise exceptions.NotFound(_("No such endpoint."))
