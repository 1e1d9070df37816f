"""The default follow-up ladders (decision 0009). Supervisors change them on /follow-ups/."""

from datetime import timedelta

from django.db import migrations


def create_defaults(apps, schema_editor):
    LadderPolicy = apps.get_model("cases", "LadderPolicy")
    # Referral: remind at the platform's response target (first_reminder_after empty),
    # again 3 days later, escalate 7 days after the target, deadline 14 days after it.
    LadderPolicy.objects.get_or_create(
        request_type="referral",
        platform=None,
        defaults={
            "first_reminder_after": None,
            "second_reminder_after": timedelta(days=3),
            "escalate_after": timedelta(days=7),
            "deadline_after": timedelta(days=14),
        },
    )
    # Removal order (1-hour legal deadline): remind at 30 and 45 minutes, escalate at the
    # deadline, which is the law's (REMOVAL_ORDER_DEADLINE_HOURS), not a setting.
    LadderPolicy.objects.get_or_create(
        request_type="removal_order",
        platform=None,
        defaults={
            "first_reminder_after": timedelta(minutes=30),
            "second_reminder_after": timedelta(minutes=15),
            "escalate_after": timedelta(minutes=30),
            "deadline_after": None,
        },
    )


class Migration(migrations.Migration):
    dependencies = [("cases", "0004_ladder_policy")]

    operations = [migrations.RunPython(create_defaults, migrations.RunPython.noop)]
