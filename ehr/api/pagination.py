import re

from rest_framework.exceptions import ValidationError
from rest_framework.pagination import PageNumberPagination

_WHOLE_NUMBER = re.compile(r"-?[0-9]+")


class StandardPagination(PageNumberPagination):
    """``{"count", "next", "previous", "results"}``; ``?page=`` and ``?page_size=`` (max 200).

    A page past the end (or below 1) answers 404. A page size that is not a
    whole number answers 400; a whole number out of range falls back to the
    default (below 1) or the maximum (above 200).
    """

    page_size = 50
    page_size_query_param = "page_size"
    max_page_size = 200

    def get_page_size(self, request):
        value = request.query_params.get(self.page_size_query_param, "")
        if value and not _WHOLE_NUMBER.fullmatch(value):
            raise ValidationError(
                {self.page_size_query_param: [f"A whole number (at most {self.max_page_size})."]}
            )
        return super().get_page_size(request)

    def get_schema_operation_parameters(self, view):
        parameters = super().get_schema_operation_parameters(view)
        for parameter in parameters:
            if parameter["name"] == self.page_query_param:
                parameter["schema"]["minimum"] = 1
        return parameters
