import os

from django.contrib.auth import get_user_model
from django.core.management.base import BaseCommand


class Command(BaseCommand):
    help = (
        "Create the first admin from WATCHPOST_ADMIN_USERNAME, WATCHPOST_ADMIN_EMAIL and "
        "WATCHPOST_ADMIN_PASSWORD if they are set and no such user exists; otherwise say how to create one."
    )

    def handle(self, *args, **options):
        User = get_user_model()
        username = os.environ.get("WATCHPOST_ADMIN_USERNAME", "").strip()
        password = os.environ.get("WATCHPOST_ADMIN_PASSWORD", "")
        email = os.environ.get("WATCHPOST_ADMIN_EMAIL", "").strip()
        if username and password:
            if User.objects.filter(username=username).exists():
                self.stdout.write(f"Admin user {username!r} already exists.")
            else:
                User.objects.create_superuser(username=username, email=email, password=password)
                self.stdout.write(self.style.SUCCESS(f"Created admin user {username!r}."))
            return
        if not User.objects.filter(is_superuser=True).exists():
            self.stdout.write(
                "No admin user yet. Create one with:  .venv/bin/python manage.py createsuperuser\n"
                "(or set WATCHPOST_ADMIN_USERNAME and WATCHPOST_ADMIN_PASSWORD before `make run`)."
            )
