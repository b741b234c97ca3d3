import pytest
from django.db import IntegrityError, transaction

from accounts.models import Membership, Organization, Plan, Role, User
from accounts.services import membership_add, organization_create
from config.errors import Conflict, ValidationFailed

pytestmark = pytest.mark.django_db


def test_create_organization_with_owner():
    owner = User.objects.create_user(username="o", password="pw-long-enough")
    org = organization_create(name="Widgets Inc", owner=owner)
    assert org.slug == "widgets-inc"
    assert org.plan == Plan.FREE
    assert Membership.objects.get(organization=org).role == Role.OWNER


def test_duplicate_slug_is_a_conflict_and_changes_nothing():
    organization_create(name="Acme", slug="acme")
    with pytest.raises(Conflict, match="already exists"):
        organization_create(name="Other", slug="acme")
    assert Organization.objects.count() == 1


@pytest.mark.parametrize(
    ("kwargs", "field"),
    [
        ({"name": "", "slug": "x"}, "name"),
        ({"name": "x" * 101, "slug": "x"}, "name"),
        ({"name": "A", "slug": "Not A Slug"}, "slug"),
        ({"name": "A", "slug": "a", "plan": "platinum"}, "plan"),
        ({"name": "A", "slug": "a", "custom_rate_limit": 0}, "customRateLimit"),
    ],
)
def test_invalid_organization(kwargs, field):
    with pytest.raises(ValidationFailed) as exc:
        organization_create(**kwargs)
    assert list(exc.value.details["fields"]) == [field]
    assert Organization.objects.count() == 0


def test_plan_rate_limits(settings):
    assert organization_create(name="F", plan="free").rate_limit_per_minute == 60
    assert organization_create(name="P", plan="pro").rate_limit_per_minute == 300
    ent = organization_create(name="E", plan="enterprise", custom_rate_limit=5000)
    assert ent.rate_limit_per_minute == 5000
    bare = organization_create(name="E2", plan="enterprise")
    assert bare.rate_limit_per_minute == settings.PLAN_RATE_LIMITS["enterprise"]


def test_database_refuses_unknown_plan_and_role(org):
    with pytest.raises(IntegrityError), transaction.atomic():
        Organization.objects.filter(pk=org.pk).update(plan="gold")
    u = User.objects.create_user(username="m")
    with pytest.raises(IntegrityError), transaction.atomic():
        Membership.objects.create(user=u, organization=org, role="god")


def test_user_in_several_organizations(org):
    other = organization_create(name="Other")
    u = User.objects.create_user(username="multi")
    membership_add(user=u, organization=org, role=Role.ADMIN)
    membership_add(user=u, organization=other)
    assert set(u.memberships.values_list("organization__slug", "role")) == {
        ("acme", "admin"),
        ("other", "member"),
    }
    membership_add(user=u, organization=other, role=Role.OWNER)
    assert u.memberships.get(organization=other).role == "owner"
    with pytest.raises(ValidationFailed):
        membership_add(user=u, organization=org, role="boss")


def test_wallet_address_is_unique_and_optional():
    User.objects.create_user(username="a")
    User.objects.create_user(username="b")  # two users without a wallet are fine
    addr = "0x5aAeb6053F3E94C9b9A09f33669435E7Ef1BeAed"
    User.objects.create_user(username="c", wallet_address=addr)
    with pytest.raises(IntegrityError), transaction.atomic():
        User.objects.create_user(username="d", wallet_address=addr)
