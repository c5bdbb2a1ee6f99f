from django.db import migrations


def create_default_protocol(apps, schema_editor):
    MonitoringProtocol = apps.get_model("infusions", "MonitoringProtocol")
    if not MonitoringProtocol.objects.exists():
        MonitoringProtocol.objects.create(version=1, note="Clinic defaults")


class Migration(migrations.Migration):
    dependencies = [("infusions", "0002_initial")]

    operations = [migrations.RunPython(create_default_protocol, migrations.RunPython.noop)]
