from django.db.models import QuerySet
from rest_framework.exceptions import ValidationError
from rest_framework.pagination import PageNumberPagination

from ehr.filters import WHOLE_NUMBER


class _CountedFirstPage:
    """The rows of a first page, standing for a list of ``total`` records (what
    Django's ``Paginator`` needs: a length and the first page's slice)."""

    def __init__(self, rows: list, total: int):
        self.rows, self.total = rows, total

    def __len__(self) -> int:
        return self.total

    def __getitem__(self, index):
        return self.rows[index]


class StandardPagination(PageNumberPagination):
    """``{"count", "next", "previous", "results"}``; ``?page=`` and ``?page_size=`` (max 200).

    A page past the end (or below 1) answers 404. A page size that is not a
    whole number answers 400; a whole number out of range falls back to the
    default (below 1) or the maximum (above 200).

    The first page is read before the count, one row more than the page holds: a
    list that fits on it (most lists under one session or patient) is counted by
    its length, without a ``COUNT`` query.
    """

    page_size = 50
    page_size_query_param = "page_size"
    max_page_size = 200

    def get_page_size(self, request):
        value = request.query_params.get(self.page_size_query_param, "")
        if value and not WHOLE_NUMBER.fullmatch(value):
            raise ValidationError(
                {self.page_size_query_param: [f"A whole number (at most {self.max_page_size})."]}
            )
        return super().get_page_size(request)

    def paginate_queryset(self, queryset, request, view=None):
        page_size = self.get_page_size(request)
        first_page = request.query_params.get(self.page_query_param, "") in ("", "1")
        if page_size and first_page and isinstance(queryset, QuerySet):
            rows = list(queryset[: page_size + 1])
            total = len(rows) if len(rows) <= page_size else queryset.count()
            queryset = _CountedFirstPage(rows[:page_size], total)
        return super().paginate_queryset(queryset, request, view)

    def get_schema_operation_parameters(self, view):
        parameters = super().get_schema_operation_parameters(view)
        for parameter in parameters:
            if parameter["name"] == self.page_query_param:
                parameter["schema"]["minimum"] = 1
        return parameters
