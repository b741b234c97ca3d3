from typing import Any

from rest_framework.pagination import PageNumberPagination
from rest_framework.request import Request

from config.errors import ValidationFailed


class Pagination(PageNumberPagination):
    """Page-number pagination with a client-chosen page size, capped.

    A `pageSize` that is not a whole number from 1 up is a 400 (DRF would quietly
    use the default, hiding the client's mistake); one over the cap is capped.
    Either parameter given twice is a 400 too (Django would take the last).
    """

    page_size_query_param = "pageSize"
    max_page_size = 200
    page_size_query_description = "Items per page: default 50, at most 200 (more is capped)."

    def get_page_size(self, request: Request) -> int:
        raw = _single(request, self.page_size_query_param)
        if raw is None:
            return self.page_size
        digits = raw.lstrip("0") if raw.isascii() and raw.isdigit() else ""
        if not digits:
            reason = f"Must be a whole number from 1 to {self.max_page_size}."
            raise ValidationFailed(details={"fields": {self.page_size_query_param: [reason]}})
        # Compared as text first: int() of thousands of digits is refused (and slow).
        if len(digits) > len(str(self.max_page_size)):
            return self.max_page_size
        return min(int(digits), self.max_page_size)

    def get_page_number(self, request: Request, paginator: Any) -> Any:
        _single(request, self.page_query_param)
        return super().get_page_number(request, paginator)

    def get_schema_operation_parameters(self, view: Any) -> list[dict[str, Any]]:
        parameters = super().get_schema_operation_parameters(view)
        for parameter in parameters:
            if parameter["name"] in (self.page_query_param, self.page_size_query_param):
                # A page out of range is a 404 NOT_FOUND; a page size under 1, a 400.
                parameter["schema"]["minimum"] = 1
        return parameters


def _single(request: Request, name: str) -> str | None:
    values = request.query_params.getlist(name)
    if len(values) > 1:
        raise ValidationFailed(details={"fields": {name: ["Give it once."]}})
    return values[0] if values else None
