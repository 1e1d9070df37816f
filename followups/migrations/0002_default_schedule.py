"""The weekly compose runs Monday 06:00 unit time until a supervisor changes it."""

from datetime import time

from django.db import migrations


def create_schedule(apps, schema_editor):
    ComposeSchedule = apps.get_model("followups", "ComposeSchedule")
    ComposeSchedule.objects.get_or_create(
        id=1, defaults={"weekday": 0, "time_of_day": time(6, 0), "enabled": True}
    )


class Migration(migrations.Migration):
    dependencies = [("followups", "0001_initial")]

    operations = [migrations.RunPython(create_schedule, migrations.RunPython.noop)]
