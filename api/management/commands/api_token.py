"""``manage.py api_token create|list|revoke``: API tokens from the server's shell.

For set-up and automation (e.g. a crawler's token on a new machine). The secret is
printed once, to stdout only, and is never stored or logged.
"""

from __future__ import annotations

from typing import Any

from django.contrib.auth import get_user_model
from django.core.management.base import BaseCommand, CommandError, CommandParser

from api.models import ApiToken
from api.services import api_token_issue, api_token_revoke
from core.errors import DomainError


class Command(BaseCommand):
    help = "Create, list or revoke REST API tokens."

    def add_arguments(self, parser: CommandParser) -> None:
        actions = parser.add_subparsers(dest="action", required=True)
        create = actions.add_parser("create", help="Create a token and print it once.")
        create.add_argument("username")
        create.add_argument("--name", required=True, help="What uses the token.")
        create.add_argument("--days", type=int, default=None, help="Valid for this many days.")
        listing = actions.add_parser("list", help="List tokens (never their secrets).")
        listing.add_argument("username", nargs="?")
        revoke = actions.add_parser("revoke", help="Revoke a token by its id.")
        revoke.add_argument("token_id", type=int)

    def handle(self, *args: Any, **options: Any) -> None:
        try:
            getattr(self, f"_{options['action']}")(options)
        except DomainError as error:
            raise CommandError(error.message) from error

    def _create(self, options: dict[str, Any]) -> None:
        user = self._user(options["username"])
        issued = api_token_issue(
            user=user, name=options["name"], by=None, valid_days=options["days"]
        )
        self.stderr.write(
            f"Token {issued.token.pk} for {user.get_username()} ({issued.token.name}), valid "
            f"until {issued.token.expires_at:%Y-%m-%d}. It is shown once; store it now:"
        )
        self.stdout.write(issued.secret)

    def _list(self, options: dict[str, Any]) -> None:
        tokens = ApiToken.objects.select_related("user").order_by("user__username", "-id")
        if options["username"]:
            tokens = tokens.filter(user=self._user(options["username"]))
        for token in tokens:
            state = "revoked" if token.revoked_at else f"until {token.expires_at:%Y-%m-%d}"
            used = f"{token.last_used_at:%Y-%m-%d %H:%M}" if token.last_used_at else "never"
            self.stdout.write(
                f"{token.pk}\t{token.user.get_username()}\t{token.prefix}…\t{token.name}\t"
                f"{state}\tlast used {used}"
            )

    def _revoke(self, options: dict[str, Any]) -> None:
        token = ApiToken.objects.filter(pk=options["token_id"]).first()
        if token is None:
            raise CommandError(f"No token with id {options['token_id']}.")
        api_token_revoke(token=token, by=None)
        self.stdout.write(f"Token {token.pk} ({token.prefix}…) is revoked.")

    def _user(self, username: str) -> Any:
        user = get_user_model().objects.filter(username=username).first()
        if user is None:
            raise CommandError(f"No user {username!r}.")
        return user
