from django.apps import AppConfig


class SchedulingConfig(AppConfig):
    name = "scheduling"
    verbose_name = "Scheduled jobs"

    def ready(self) -> None:
        from scheduling import signals

        signals.connect()
