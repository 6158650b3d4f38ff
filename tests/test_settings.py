"""Settings come from the environment; production refuses to start without a real SECRET."""
import os
import secrets
import subprocess
import sys

import pytest
from helpers import ON_POSTGRESQL, new_list

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
    trip, _ = new_list(user)
    assert db.is_closed()
    monkeypatch.setattr(bucketlist, 'item_json', lambda item: 1 / 0)
    user.post_json(f'/bucketlists/{trip["id"]}/items/', {'name': 'Boom'}, status=500)
    assert db.is_closed()
    if ON_POSTGRESQL:
        pooled = len(db._connections)  # (tests that race on threads before this one leave more)
        for _ in range(30):
            user.get('/bucketlists/')
        assert len(db._in_use) == 0 and len(db._connections) == pooled >= 1  # pooled connections, reused


@pytest.mark.parametrize('secret', ['a' * 32, 'abcabcabcabcabcabcabcabcabcabcab'])
def test_production_refuses_a_weak_secret(secret):
    result = import_settings(APP_SETTINGS='production', SECRET=secret)
    assert result.returncode == 1 and 'SECRET' in result.stderr


@pytest.mark.parametrize('name, value', [('PAGE_SIZE', 'twenty'), ('DATABASE_POOL_SIZE', '0'),
                                         ('DATABASE_POOL_WAIT_SECONDS', 'soon'), ('DATABASE_POOLER', 'statement')])
def test_an_invalid_setting_stops_the_process_with_one_line_naming_it(name, value):
    result = import_settings(**{name: value})
    assert result.returncode == 1
    assert len(result.stderr.strip().splitlines()) == 1 and name in result.stderr


def test_the_procfile_web_command_exits_at_once_on_an_invalid_setting():
    # Before, gunicorn's master kept restarting workers that exited, forever, at full CPU.
    with open(os.path.join(ROOT, 'Procfile')) as procfile:
        web = next(line for line in procfile if line.startswith('web:'))[4:].strip()
    clean = {k: v for k, v in os.environ.items() if k not in ('SECRET', 'DATABASE_URL')}
    result = subprocess.run(['bash', '-c', f'exec {web}'], cwd=ROOT, capture_output=True, text=True, timeout=30,
                            env={**clean, 'APP_SETTINGS': 'production',
                                 'PATH': os.path.dirname(sys.executable) + os.pathsep + os.environ['PATH']})
    assert result.returncode != 0
    assert 'SECRET must be set' in result.stderr and 'Booting worker' not in result.stderr


@pytest.mark.parametrize('url', ['postgresq://u@db.example.com/app', 'mysql://u@db.example.com/app',
                                 'sqlite:/relative.db', 'bucketlist.db', ''])
def test_a_database_url_of_another_scheme_is_one_line_naming_those_taken(url):
    result = import_settings(DATABASE_URL=url)
    assert result.returncode == 1
    assert len(result.stderr.strip().splitlines()) == 1
    assert 'sqlite:///' in result.stderr and 'postgresql://' in result.stderr
