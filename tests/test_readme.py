"""The README tells the truth: its curl session runs verbatim and prints what it shows, its tables
of routes and settings are the app's, and it reads in ten minutes."""
import os
import re
import socket
import subprocess
import sys
import tempfile
import time
import urllib.request

import bucketlist

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
README = open(os.path.join(ROOT, 'README.md'), encoding='utf-8').read()


def section(title):
    start = README.index(f'\n## {title}\n')
    end = README.find('\n## ', start + 1)
    return README[start:end if end != -1 else None]


def free_port():
    with socket.socket() as probe:
        probe.bind(('127.0.0.1', 0))
        return probe.getsockname()[1]


def test_the_curl_session_prints_what_the_readme_shows():
    session = README.split('<!-- curl-session -->\n```bash\n', 1)[1].split('\n```\n', 1)[0]
    first, rest = session.split('\n', 1)
    assert first == 'API=localhost:8000'
    # What the README shows after each command: answers and statuses; other comments explain.
    shown = [line[2:] for line in session.splitlines() if re.match(r'# (\{|\[|\d{3}$)', line)]
    directory, port = tempfile.mkdtemp(prefix='bucketlist-readme-'), free_port()
    env = {**{k: v for k, v in os.environ.items() if k not in ('TEST_DATABASE_URL', 'APP_SETTINGS')},
           'DATABASE_URL': f'sqlite:///{directory}/readme.db', 'PORT': str(port)}
    subprocess.run([sys.executable, 'migrations.py'], cwd=ROOT, env=env, check=True, capture_output=True)
    server = subprocess.Popen([sys.executable, 'bucketlist.py'], cwd=ROOT, env=env,
                              stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    try:
        for _ in range(100):
            try:
                urllib.request.urlopen(f'http://127.0.0.1:{port}/livez', timeout=1)
                break
            except OSError:
                time.sleep(0.1)
        ran = subprocess.run(['bash', '-c', f'API=localhost:{port}\n{rest}'], capture_output=True, text=True,
                             timeout=120)
    finally:
        server.terminate()
        server.wait(10)
    printed = [line for line in ran.stdout.splitlines() if line]
    assert ran.stderr == ''
    assert [line for line in printed if re.fullmatch(r'\d{3}', line)] == [s for s in shown if re.fullmatch(r'\d{3}', s)]
    assert len(printed) == len(shown)
    for expected, line in zip(shown, printed, strict=True):  # '…' stands for tokens and times
        assert re.fullmatch('.*?'.join(map(re.escape, expected.split('…'))), line), (expected, line)


def test_the_routes_tables_are_the_app_s_routes():
    documented = set(re.findall(r'^\| `(GET|POST|PUT|PATCH|DELETE) (/[^`]*)` \|', section('Routes'), re.M))
    routes = {(route.method, re.sub(r'<(\w+):[^>]+>', r'<\1>', route.rule)) for route in bucketlist.app.routes}
    assert documented == routes


def test_the_settings_table_is_settings_py():
    source = open(os.path.join(ROOT, 'settings.py')).read()
    names = set(re.findall(r"(?:environ\.get|integer|numbers?|flag)\('([A-Z_]+)'", source)) - {'HEROKU_SLUG_COMMIT'}
    rows = re.findall(r'^\| (`[A-Z_]+`(?:, `[A-Z_]+`)*) \|', section('Settings'), re.M)
    documented = {name for row in rows for name in re.findall(r'`([A-Z_]+)`', row)}
    assert documented == names


def test_the_readme_is_read_in_ten_minutes_and_nothing_points_outside_the_clone():
    assert README.count('\n') <= 600
    leaks = []
    for directory, folders, files in os.walk(ROOT):
        folders[:] = [f for f in folders if not f.startswith('.') and f not in ('node_modules', 'test-artifacts')]
        for name in files:
            if name.endswith(('.py', '.md', '.sh', '.txt', '.toml', '.yaml', '.js', '.css', '.html', '.ts')) \
                    or name in ('Makefile', 'Procfile'):
                path = os.path.join(directory, name)
                if path == os.path.abspath(__file__):  # (it names them)
                    continue
                text = open(path, encoding='utf-8', errors='replace').read()
                for pattern in (r'\.\./shared', r'/work/', r'\bissue \d+'):
                    leaks += [f'{os.path.relpath(path, ROOT)}: {m}' for m in re.findall(pattern, text, re.I)]
    assert leaks == []
