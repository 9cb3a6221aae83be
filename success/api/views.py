"""Customer success API (docs/customer-success.md): the accounts riskiest
first with every health input, and one account with its monthly trend.
Managers, admins and service agents (success.policy); others get 403."""

from datetime import timedelta
from typing import Any

from django.utils.translation import gettext as _
from drf_spectacular.utils import extend_schema, inline_serializer
from rest_framework import exceptions, serializers
from rest_framework.permissions import IsAuthenticated
from rest_framework.request import Request
from rest_framework.response import Response
from rest_framework.views import APIView

from metrics.services import reporting_zone
from success import selectors
from success.policy import success_viewer
from success.present import account_row

MAX_LIMIT = 500


class ListQuerySerializer(serializers.Serializer):
    days = serializers.ChoiceField(choices=[30, 90, 180], required=False, default=90)
    band = serializers.ChoiceField(choices=["healthy", "watch", "at_risk"], required=False)
    offset = serializers.IntegerField(required=False, min_value=0, default=0)
    limit = serializers.IntegerField(required=False, min_value=1, max_value=MAX_LIMIT, default=100)


class DetailQuerySerializer(serializers.Serializer):
    days = serializers.ChoiceField(choices=[30, 90, 180], required=False, default=90)


def _viewer(request: Request) -> None:
    if not success_viewer(request.user):
        raise exceptions.PermissionDenied(_("Only managers, admins and service agents can see customer success."))


def _period(days: int) -> tuple[selectors.Period, Any]:
    from django.utils import timezone

    now = timezone.now()
    return selectors.Period(start=now - timedelta(days=days), end=now), now


ACCOUNT_FIELDS: dict[str, serializers.Field] = {
    "kind": serializers.CharField(),
    "id": serializers.IntegerField(),
    "name": serializers.CharField(),
    "health_score": serializers.IntegerField(),
    "health_band": serializers.CharField(),
    "deductions": serializers.ListField(child=serializers.DictField()),
}
ListSchema = inline_serializer(
    "SuccessAccountPage",
    {
        "count": serializers.IntegerField(),
        "as_of": serializers.DateTimeField(),
        "results": inline_serializer("SuccessAccount", ACCOUNT_FIELDS, many=True),
    },
)
DetailSchema = inline_serializer(
    "SuccessAccountDetail", {**ACCOUNT_FIELDS, "trend": serializers.ListField(child=serializers.DictField())}
)


class AccountListView(APIView):
    permission_classes = [IsAuthenticated]

    @extend_schema(operation_id="success_accounts_list", parameters=[ListQuerySerializer], responses={200: ListSchema})
    def get(self, request: Request) -> Response:
        _viewer(request)
        q = ListQuerySerializer(data=request.query_params)
        q.is_valid(raise_exception=True)
        period, now = _period(int(q.validated_data["days"]))
        accounts = selectors.account_list(period, now=now)
        if q.validated_data.get("band"):
            accounts = [a for a in accounts if a.health.band == q.validated_data["band"]]
        offset, limit = q.validated_data["offset"], q.validated_data["limit"]
        page = accounts[offset : offset + limit]
        return Response(
            {
                "count": len(accounts),
                "as_of": now.isoformat(),
                "results": [account_row(a, now=now) for a in page],
            }
        )


class AccountDetailView(APIView):
    permission_classes = [IsAuthenticated]

    @extend_schema(
        operation_id="success_account_detail", parameters=[DetailQuerySerializer], responses={200: DetailSchema}
    )
    def get(self, request: Request, kind: str, pk: int) -> Response:
        _viewer(request)
        q = DetailQuerySerializer(data=request.query_params)
        q.is_valid(raise_exception=True)
        period, now = _period(int(q.validated_data["days"]))
        key = selectors.key_parse(kind, pk)
        account = selectors.account_get(key, period, now=now) if key else None
        if account is None:
            raise exceptions.NotFound(_("No such account."))
        trend = selectors.account_trend(account.key, selectors.months_back(now, 6, reporting_zone()), now=now)
        return Response({**account_row(account, now=now), "as_of": now.isoformat(), "trend": trend})
