from __future__ import annotations

import getpass
import os
from typing import Any

from django.contrib.auth import get_user_model
from django.contrib.auth.password_validation import validate_password
from django.core.exceptions import ValidationError
from django.core.management.base import BaseCommand, CommandError, CommandParser
from django.db import transaction

from core.roles import Role, ensure_role_groups


class Command(BaseCommand):
    help = "Create (or update) a staff user with a role: officer, supervisor, analyst or admin."

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("username")
        parser.add_argument("--role", required=True, choices=[r.value for r in Role])
        parser.add_argument("--email", default="")
        parser.add_argument(
            "--password-env",
            default="",
            help="Read the password from this environment variable (never from the command line).",
        )

    @transaction.atomic
    def handle(self, *args: Any, **options: Any) -> None:
        role = Role(options["role"])
        if options["password_env"]:
            password = os.environ.get(options["password_env"], "")
        else:
            password = getpass.getpass(f"Password for {options['username']}: ")
        User = get_user_model()
        user = User.objects.filter(username=options["username"]).first() or User(
            username=options["username"]
        )
        try:
            validate_password(password, user)
        except ValidationError as exc:
            raise CommandError(" ".join(exc.messages)) from exc
        user.email = options["email"] or user.email
        user.is_staff = role == Role.ADMIN
        user.is_superuser = role == Role.ADMIN
        user.set_password(password)
        user.save()
        groups = ensure_role_groups()
        user.groups.set([groups[role]])
        self.stdout.write(f"{user.username}: {role.value}")
