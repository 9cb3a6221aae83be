"""Clean the names of attachments stored before the upload check: a name
with a bidi override ("invoice\u202egnp.hta") displays as something else on
every page that lists it. Types are not rewritten here: the download view
checks the bytes when serving (tickets.attachments.served_content_type)."""

from django.db import migrations


def filenames_normalise(apps, schema_editor):
    from tickets.attachments import filename_normalise

    Attachment = apps.get_model("tickets", "Attachment")
    changed = []
    for attachment in Attachment.objects.only("pk", "filename").iterator(chunk_size=2000):
        clean = filename_normalise(attachment.filename)
        if clean != attachment.filename:
            attachment.filename = clean
            changed.append(attachment)
        if len(changed) >= 500:
            Attachment.objects.bulk_update(changed, ["filename"])
            changed = []
    Attachment.objects.bulk_update(changed, ["filename"])


class Migration(migrations.Migration):
    dependencies = [("tickets", "0007_drop_redundant_indexes")]

    operations = [migrations.RunPython(filenames_normalise, migrations.RunPython.noop, elidable=True)]
