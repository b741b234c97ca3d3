from rest_framework.pagination import PageNumberPagination


class Pagination(PageNumberPagination):
    """Page-number pagination with a client-chosen page size, capped."""

    page_size_query_param = "pageSize"
    max_page_size = 200
