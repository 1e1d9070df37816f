"""Create the staff role groups with their permissions.

Permissions are normally created after all migrations (post_migrate); create
them here first so the groups can be filled in the same ``migrate``.
"""

from django.contrib.auth.management import create_permissions
from django.db import migrations


def create_role_groups(apps, schema_editor):
    for app_config in apps.get_app_configs():
        app_config.models_module = True
        create_permissions(app_config, apps=apps, verbosity=0)
        app_config.models_module = None

    from core.roles import ROLE_PERMISSIONS

    Group = apps.get_model("auth", "Group")
    Permission = apps.get_model("auth", "Permission")
    # Apps migrated after this one get their permissions into the groups from
    # core.apps' post_migrate hook, which runs ensure_role_groups at the end of
    # every ``migrate``.
    present = {config.label for config in apps.get_app_configs()}
    for role, codes in ROLE_PERMISSIONS.items():
        group, _ = Group.objects.get_or_create(name=role.value)
        perms = []
        for code in codes:
            if code.split(".")[0] not in present:
                continue
            app_label, codename = code.split(".")
            # A permission a later migration of its app adds does not exist yet here
            # (core.roles is read live); the post_migrate hook puts it in the groups.
            perm = Permission.objects.filter(
                content_type__app_label=app_label, codename=codename
            ).first()
            if perm is not None:
                perms.append(perm)
        group.permissions.set(perms)


class Migration(migrations.Migration):
    dependencies = [
        ("core", "0001_initial"),
        ("cases", "0001_initial"),
        ("platforms", "0001_initial"),
        ("auth", "0012_alter_user_first_name_max_length"),
        ("contenttypes", "0002_remove_content_type_name"),
    ]

    operations = [migrations.RunPython(create_role_groups, migrations.RunPython.noop)]
