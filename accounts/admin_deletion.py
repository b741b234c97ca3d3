"""Why an organization cannot be deleted, said as such in the admin.

Its credit account, ledger and API keys (with their audit events) reference it
with PROTECT and their admins are read-only: they are the audit trail. Django's
delete page would tell even a superuser that they "don't have permission" to
delete those objects, which reads like a missing grant. Here they are listed as
what they are, objects that are kept (the page says why, see the templates in
templates/admin/accounts/organization/), and deletion stays refused.
"""

from __future__ import annotations

from django.contrib import admin
from django.http import HttpRequest
from django.utils.text import capfirst


class KeptForAuditTrailMixin(admin.ModelAdmin):
    def get_deleted_objects(self, objs, request: HttpRequest):
        to_delete, model_count, perms_needed, protected = super().get_deleted_objects(objs, request)
        if perms_needed:
            # Listed as protected, deletion is refused all the same (delete_view
            # and delete_selected delete nothing while `protected` is not empty).
            kept = [f"{capfirst(name)} (kept for the audit trail)" for name in sorted(perms_needed)]
            protected = [*kept, *protected]
            perms_needed = set()
        return to_delete, model_count, perms_needed, protected
