"""Language tests activate German and Spanish; every later test starts in
the site's language again (translation state is per thread)."""

import pytest
from django.conf import settings
from django.utils import translation


@pytest.fixture(autouse=True)
def _site_language_afterwards():
    yield
    translation.activate(settings.LANGUAGE_CODE)
