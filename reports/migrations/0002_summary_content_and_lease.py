from django.db import migrations, models


class Migration(migrations.Migration):

    dependencies = [
        ('reports', '0001_initial'),
    ]

    operations = [
        migrations.AddField(
            model_name='treatmentsummary',
            name='content',
            field=models.JSONField(blank=True, default=dict, editable=False),
        ),
        migrations.AddField(
            model_name='treatmentsummary',
            name='generating_task_id',
            field=models.CharField(blank=True, max_length=64),
        ),
    ]
