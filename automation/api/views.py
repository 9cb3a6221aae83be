"""API of macros and routing rules: /api/v1/macros/, /api/v1/routing-rules/.

Input is validated by the Settings pages' own forms (automation/forms.py),
so the API refuses exactly what the pages refuse, with the same field
names and messages: 400 {"code": "invalid", "details": {field: [msg]}}.
Customers get 403, a personal macro of someone else 404, a shared macro
or a rule changed by an agent 403.
"""

from collections.abc import Mapping
from typing import Any

from django.http import Http404
from drf_spectacular.utils import extend_schema
from rest_framework import exceptions, serializers, status
from rest_framework.request import Request
from rest_framework.response import Response
from rest_framework.views import APIView

from accounts.request_user import signed_in
from automation import services
from automation.forms import MacroForm, RoutingRuleForm, macro_initial
from helpdesk.lib.access import require_staff
from tickets.models import Macro, RoutingRule


def _form_data(request: Request, initial: Mapping[str, Any] | None) -> dict[str, Any]:
    """PUT/POST: the body as is; PATCH: the body over the current values."""
    body = request.data if isinstance(request.data, dict) else {}
    data = dict(initial or {}) if request.method == "PATCH" else {}
    if request.method != "PATCH":
        data["is_active"] = True  # enabled unless the body says otherwise
    data.update(body)
    # Check boxes: a form reads a missing key as False, JSON says false.
    return {k: v for k, v in data.items() if v is not False and v is not None}


def _invalid(form: Any) -> exceptions.ValidationError:
    return exceptions.ValidationError({field: list(errors) for field, errors in form.errors.items()})


def _run(func: Any, **kwargs: Any) -> Any:
    try:
        return func(**kwargs)
    except Http404 as exc:
        raise exceptions.NotFound(str(exc)) from None


class MacroOut(serializers.ModelSerializer):
    personal = serializers.SerializerMethodField()

    class Meta:
        model = Macro
        fields = ["id", "name", "body", "visibility", "queue", "is_active", "personal", "owner", "actions"]

    def get_personal(self, obj: Macro) -> bool:
        return obj.owner_id is not None


class RoutingRuleOut(serializers.ModelSerializer):
    class Meta:
        model = RoutingRule
        fields = [
            "id",
            "name",
            "position",
            "is_active",
            "channels",
            "requester_domains",
            "keywords",
            "request_type",
            "set_queue",
            "set_priority",
            "add_tags",
            "stop_processing",
        ]


class MacroListView(APIView):
    @extend_schema(responses=MacroOut(many=True))
    def get(self, request: Request) -> Response:
        require_staff(request.user)
        return Response(MacroOut(services.macro_list_for_user(user=signed_in(request)), many=True).data)

    @extend_schema(request=None, responses={201: MacroOut})
    def post(self, request: Request) -> Response:
        require_staff(request.user)
        form = MacroForm(_form_data(request, None), actor=signed_in(request))
        if not form.is_valid():
            raise _invalid(form)
        macro = services.macro_save(actor=signed_in(request), data=form.cleaned_data)
        return Response(MacroOut(macro).data, status=status.HTTP_201_CREATED)


class MacroDetailView(APIView):
    def _get(self, request: Request, macro_id: int) -> Macro:
        require_staff(request.user)
        return _run(services.macro_get_for_edit, user=request.user, macro_id=macro_id)

    @extend_schema(responses=MacroOut)
    def get(self, request: Request, macro_id: int) -> Response:
        return Response(MacroOut(self._get(request, macro_id)).data)

    @extend_schema(request=None, responses=MacroOut)
    def put(self, request: Request, macro_id: int) -> Response:
        macro = self._get(request, macro_id)
        form = MacroForm(_form_data(request, macro_initial(macro)), actor=signed_in(request), instance=macro)
        if not form.is_valid():
            raise _invalid(form)
        saved = services.macro_save(actor=signed_in(request), data=form.cleaned_data, instance=macro)
        return Response(MacroOut(saved).data)

    patch = put


class RoutingRuleListView(APIView):
    @extend_schema(responses=RoutingRuleOut(many=True))
    def get(self, request: Request) -> Response:
        require_staff(request.user)
        services.require_manager(request.user)
        return Response(RoutingRuleOut(RoutingRule.objects.order_by("position", "id"), many=True).data)

    @extend_schema(request=None, responses={201: RoutingRuleOut})
    def post(self, request: Request) -> Response:
        require_staff(request.user)
        services.require_manager(request.user)
        form = RoutingRuleForm(_form_data(request, None))
        if not form.is_valid():
            raise _invalid(form)
        rule = services.routing_rule_save(actor=signed_in(request), data=form.cleaned_data)
        return Response(RoutingRuleOut(rule).data, status=status.HTTP_201_CREATED)


class RoutingRuleDetailView(APIView):
    def _get(self, request: Request, rule_id: int) -> RoutingRule:
        require_staff(request.user)
        services.require_manager(request.user)
        rule = RoutingRule.objects.filter(pk=rule_id).first()
        if rule is None:
            raise exceptions.NotFound("No such rule.")
        return rule

    @extend_schema(responses=RoutingRuleOut)
    def get(self, request: Request, rule_id: int) -> Response:
        return Response(RoutingRuleOut(self._get(request, rule_id)).data)

    @extend_schema(request=None, responses=RoutingRuleOut)
    def put(self, request: Request, rule_id: int) -> Response:
        rule = self._get(request, rule_id)
        form = RoutingRuleForm(_form_data(request, RoutingRuleForm(instance=rule).initial), instance=rule)
        if not form.is_valid():
            raise _invalid(form)
        rule = services.routing_rule_save(actor=signed_in(request), data=form.cleaned_data, instance=rule)
        return Response(RoutingRuleOut(rule).data)

    patch = put


class RoutingRuleTestView(APIView):
    """GET ?ticket=N: each active rule in order, its conditions true/false,
    whether it matches and whether it would apply."""

    @extend_schema(responses=None)
    def get(self, request: Request) -> Response:
        require_staff(request.user)
        try:
            ticket_id = int(request.query_params.get("ticket", ""))
        except ValueError:
            raise exceptions.ValidationError({"ticket": ["Give a ticket number."]}) from None
        result = _run(services.routing_test, user=request.user, ticket_id=ticket_id)
        rules = [{k: v for k, v in row.items() if k != "rule"} for row in result["rules"]]
        return Response({"ticket": ticket_id, "first_match": result["first_match"], "rules": rules})
