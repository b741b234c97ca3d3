from typing import Any

from rest_framework.pagination import PageNumberPagination


class Pagination(PageNumberPagination):
    """Page-number pagination with a client-chosen page size, capped."""

    page_size_query_param = "pageSize"
    max_page_size = 200
    page_size_query_description = "Items per page: default 50, at most 200 (more is capped)."

    def get_schema_operation_parameters(self, view: Any) -> list[dict[str, Any]]:
        parameters = super().get_schema_operation_parameters(view)
        for parameter in parameters:
            if parameter["name"] == self.page_query_param:
                # Page 0, a negative page or one past the end is a 404 NOT_FOUND.
                parameter["schema"]["minimum"] = 1
        return parameters
