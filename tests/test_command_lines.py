"""The command lines a newcomer types: every one explains itself with --help, and a busy port is
one line that says what to do."""
import os
import socket
import subprocess
import sys
import tempfile

import pytest

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
COMMANDS = ['bucketlist.py', 'migrations.py', 'accounts.py', 'tools/bench.py', 'tools/inprocess_bench.py',
            'tools/resilience.py', 'tools/clients/serve-and-check.sh', 'tools/clients/check.sh']


def run(*args, **env):
    directory = tempfile.mkdtemp(prefix='bucketlist-cli-')
    environment = {**{k: v for k, v in os.environ.items() if k != 'TEST_DATABASE_URL'},
                   'APP_SETTINGS': 'development', 'DATABASE_URL': f'sqlite:///{directory}/cli.db', **env}
    program = ['bash'] if args[0].endswith('.sh') else [sys.executable]
    return subprocess.run([*program, *args], cwd=ROOT, env=environment, capture_output=True, text=True,
                          timeout=60)


@pytest.mark.parametrize('command', COMMANDS)
def test_every_command_explains_itself_with_help(command):
    ran = run(command, '--help')
    assert ran.returncode == 0, ran.stderr
    assert 'usage:' in ran.stdout.lower() and ran.stderr == ''


@pytest.mark.parametrize('args', [['migrations.py', 'sideways'], ['accounts.py'], ['accounts.py', 'rename', 'a@b.c'],
                                  ['migrations.py', 'downgrade', 'two']])
def test_a_mistyped_command_is_a_usage_line_and_exit_status_2(args):
    ran = run(*args)
    assert ran.returncode == 2 and 'usage:' in ran.stderr.lower() and 'Traceback' not in ran.stderr


def test_the_migration_commands_still_run():
    directory = tempfile.mkdtemp(prefix='bucketlist-cli-')
    url = f'sqlite:///{directory}/cli.db'
    assert 'applied 1:' in run('migrations.py', DATABASE_URL=url).stdout
    assert 'already up to date' in run('migrations.py', 'upgrade', DATABASE_URL=url).stdout
    assert ' applied ' in run('migrations.py', 'status', DATABASE_URL=url).stdout
    unknown = run('accounts.py', 'reset-password', 'nobody@example.com', DATABASE_URL=url)
    assert unknown.returncode == 1 and unknown.stderr.strip() == "No account has the email 'nobody@example.com'."
    assert 'reverted' in run('migrations.py', 'downgrade', DATABASE_URL=url).stdout


def test_a_busy_port_is_one_line_saying_what_to_do():
    with socket.socket() as taken:
        taken.bind(('127.0.0.1', 0))
        taken.listen()
        port = taken.getsockname()[1]
        ran = run('bucketlist.py', PORT=str(port))
    assert ran.returncode == 1
    last = ran.stderr.strip().splitlines()
    assert 'Traceback' not in ran.stderr and 'serving on' not in ran.stderr
    assert last[-1] == f'Port {port} is in use (is the service already running?): stop that server, ' \
                       f'or choose another port, e.g. PORT={port + 1} python bucketlist.py'
