"""Create the daily beat entry that deletes old uploads and export zips (editable in the admin)."""

from django.db import migrations

TASK_NAME = "trialmark-prune-stored-files"


def create_schedule(apps, schema_editor):
    CrontabSchedule = apps.get_model("django_celery_beat", "CrontabSchedule")
    PeriodicTask = apps.get_model("django_celery_beat", "PeriodicTask")
    if PeriodicTask.objects.filter(name=TASK_NAME).exists():
        return
    nightly, _ = CrontabSchedule.objects.get_or_create(minute="17", hour="3", day_of_week="*", day_of_month="*",
                                                       month_of_year="*", timezone="UTC")
    PeriodicTask.objects.create(
        name=TASK_NAME, task="worker.tasks.prune_stored_files_task", crontab=nightly, enabled=True,
        description="Delete finished imports' uploads and UI exports' zips older than TRIALMARK_FILE_RETENTION_DAYS.",
    )


def remove_schedule(apps, schema_editor):
    apps.get_model("django_celery_beat", "PeriodicTask").objects.filter(name=TASK_NAME).delete()


class Migration(migrations.Migration):
    dependencies = [
        ("annotation", "0007_suggestion_decision"),
        ("django_celery_beat", "0019_alter_periodictasks_options"),
    ]

    operations = [migrations.RunPython(create_schedule, remove_schedule)]
