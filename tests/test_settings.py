"""Settings come from the environment; production refuses to start without a real SECRET."""
import os
import secrets
import subprocess
import sys

import pytest
from helpers import ON_POSTGRESQL

import bucketlist
from models import db

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))


def import_settings(**env):
    clean = {k: v for k, v in os.environ.items() if k not in ('SECRET', 'APP_SETTINGS', 'DATABASE_URL')}
    return subprocess.run([sys.executable, '-c', 'import settings; print(settings.DATABASE_URL)'],
                          cwd=ROOT, env={**clean, **env}, capture_output=True, text=True, timeout=30, check=False)


@pytest.mark.parametrize('secret', [None, 'too short'])
def test_production_refuses_to_start_without_a_long_secret(secret):
    env = {'APP_SETTINGS': 'production'}
    if secret:
        env['SECRET'] = secret
    result = import_settings(**env)
    assert result.returncode == 1
    assert len(result.stderr.strip().splitlines()) == 1 and 'SECRET' in result.stderr


def test_production_starts_with_a_long_secret():
    assert import_settings(APP_SETTINGS='production', SECRET=secrets.token_urlsafe(32)).returncode == 0


@pytest.mark.parametrize('url', ['postgres://u:p@db.example.com:5432/app',
                                 'postgresql://u:p@db.example.com:5432/app'])
def test_hosting_provider_postgres_urls_use_the_pool(url):
    result = import_settings(DATABASE_URL=url)
    assert result.stdout.strip() == 'postgresql+pool://u:p@db.example.com:5432/app'


def test_unknown_app_settings_is_refused():
    result = import_settings(APP_SETTINGS='prod')
    assert result.returncode == 1 and 'APP_SETTINGS' in result.stderr


def test_default_database_is_sqlite_in_the_working_directory():
    assert import_settings().stdout.strip() == 'sqlite:///bucketlist.db'


def test_connection_is_returned_after_every_request_even_a_failing_one(user, monkeypatch):
    user.post_json('/bucketlists/', {'name': 'One'}, status=201)
    assert db.is_closed()
    monkeypatch.setattr(bucketlist, 'item_json', lambda item: 1 / 0)
    user.post_json('/bucketlists/1/items/', {'name': 'Boom'}, status=500)
    assert db.is_closed()
    if ON_POSTGRESQL:
        for _ in range(30):
            user.get('/bucketlists/')
        assert len(db._in_use) == 0 and len(db._connections) == 1  # one pooled connection, reused
