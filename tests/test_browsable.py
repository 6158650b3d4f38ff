"""The browsable API over WebTest: who gets the HTML page, what it holds, and that API clients
get exactly the JSON they got before."""
from contextlib import contextmanager
from pathlib import Path

import pytest
from helpers import new_list
from webtest import TestApp

import browsable
import bucketlist

BROWSER = 'text/html,application/xhtml+xml,application/xml;q=0.9,*/*;q=0.8'
CSP = ("default-src 'none'; script-src 'self'; style-src 'self'; img-src 'self'; connect-src 'self'; "
       "form-action 'self'; base-uri 'none'; frame-ancestors 'none'")
STATIC = Path(__file__).resolve().parent.parent / 'static'


@contextmanager
def browsable_plugin_removed():
    """The app as it was before the browsable plugin, for the duration."""
    plugins = bucketlist.app.plugins
    installed = plugins[:]
    plugins[:] = [plugin for plugin in installed if plugin.name != 'browsable']
    bucketlist.app.reset()
    try:
        yield
    finally:
        plugins[:] = installed
        bucketlist.app.reset()


@pytest.mark.parametrize('accept, html', [
    (BROWSER, True),
    ('text/html', True),
    ('text/*', True),
    ('application/json;q=0.5, text/html', True),
    ('application/json', False),
    ('*/*', False),
    ('', False),
    ('text/html, application/json', False),
    ('text/html;q=0, */*', False),
    ('text/html;q=0.5, application/*', False),
    ('text/html;q=bogus, application/json;q=0.1', False),
    ('image/png, text/html;q=0.9, */*;q=0.8', True),
    ('*/*, application/json;q=0.1', True),
    ('TEXT/HTML', True),
    ('application/json, image/png', False),
])
def test_html_only_when_the_client_prefers_it_to_json(accept, html):
    assert browsable.prefers_html(accept) is html


@pytest.mark.parametrize('path', ['/bucketlists/', '/bucketlists/1', '/bucketlists/1/items/',
                                  '/bucketlists/1/items/2', '/health'])
def test_a_browser_gets_the_page_without_a_token(client, path):
    res = client.get(path, headers={'Accept': BROWSER}, status=200)
    assert res.content_type == 'text/html'
    assert res.headers['Content-Security-Policy'] == CSP
    assert res.headers['X-Content-Type-Options'] == 'nosniff'
    assert res.headers['Vary'] == 'Accept'
    scripts = res.html.find_all('script')
    assert [script.get('src') for script in scripts] == ['/static/browsable.js']
    assert not scripts[0].string
    assert res.html.find('link', rel='stylesheet')['href'] == '/static/app.css'
    assert not res.html.find('style') and not res.html.find(style=True)
    assert not [tag for tag in res.html.find_all(True) if any(a.startswith('on') for a in tag.attrs)]


def test_the_page_offers_the_forms_of_its_resource(client):
    def forms(path):
        html = client.get(path, headers={'Accept': BROWSER}).html
        return [(form['data-method'], form['action']) for form in html.select('#forms form[data-method]')]
    assert forms('/bucketlists/') == [('POST', '/bucketlists/')]
    assert forms('/bucketlists/7') == [('PUT', '/bucketlists/7'), ('POST', '/bucketlists/7/items/'),
                                       ('POST', '/bucketlists/7/members'), ('DELETE', '/bucketlists/7')]
    assert forms('/bucketlists/7/members') == [('POST', '/bucketlists/7/members'), ('PATCH', '/bucketlists/7/members/'),
                                               ('DELETE', '/bucketlists/7/members/')]
    assert forms('/bucketlists/7/items/') == [('POST', '/bucketlists/7/items/')]
    assert forms('/bucketlists/7/items/3') == [('PATCH', '/bucketlists/7/items/3'),
                                               ('POST', '/bucketlists/7/items/3/move'),
                                               ('POST', '/bucketlists/7/items/3/steps/'),
                                               ('DELETE', '/bucketlists/7/items/3')]
    assert forms('/bucketlists/7/items/3/steps/4') == [('PATCH', '/bucketlists/7/items/3/steps/4'),
                                                       ('DELETE', '/bucketlists/7/items/3/steps/4')]
    assert forms('/labels') == [('POST', '/labels')]
    assert forms('/labels/2') == [('PATCH', '/labels/2'), ('DELETE', '/labels/2')]
    crumbs = client.get('/bucketlists/7/items/3', headers={'Accept': BROWSER}).html.select('.breadcrumbs a')
    assert [a['href'] for a in crumbs] == ['/bucketlists/', '/bucketlists/7', '/bucketlists/7/items/',
                                           '/bucketlists/7/items/3']


def test_server_rendered_text_is_escaped(client):
    res = client.get('/bucketlists/', {'q': '"><script>alert(1)</script>'}, headers={'Accept': BROWSER})
    assert '<script>alert' not in res.text
    assert '&quot;&gt;&lt;script&gt;alert(1)&lt;/script&gt;' in res.text
    assert res.html.find('input', attrs={'name': 'q'})['value'] == '"><script>alert(1)</script>'
    page = browsable.page('/bucketlists/<img src=x onerror=alert(1)>')
    assert '<img' not in page and '&lt;img src=x onerror=alert(1)&gt;' in page


@pytest.mark.parametrize('accept', [None, '*/*', 'application/json', 'application/json, */*',
                                    'text/html;q=0.5, application/json'])
def test_api_clients_get_the_same_bytes_as_before(user, accept):
    trip, (item,) = new_list(user, 'Go to Borabora', ['Book the flights'])
    bucketlist_id, item_id = trip['id'], item['id']
    # The same request id, or the X-Request-ID headers would differ.
    headers = {'X-Request-ID': 'same'}
    if accept:
        headers['Accept'] = accept
    anonymous = TestApp(bucketlist.app)
    requests = [(user, path) for path in [
        '/bucketlists/', '/bucketlists/?limit=1&q=bora', f'/bucketlists/{bucketlist_id}',
        f'/bucketlists/{bucketlist_id}/items/', f'/bucketlists/{bucketlist_id}/items/{item_id}',
        '/bucketlists/999', '/health']] + [(anonymous, '/bucketlists/')]
    for client, path in requests:
        with browsable_plugin_removed():
            before = client.get(path, headers=headers, expect_errors=True)
        after = client.get(path, headers=headers, expect_errors=True)
        assert after.status == before.status and after.body == before.body
        assert sorted(after.headerlist) == sorted(before.headerlist)


def test_writes_and_other_routes_are_never_html(user):
    res = user.post('/bucketlists/', {'name': 'Learn to sail'}, headers={'Accept': BROWSER}, status=201)
    assert res.json['name'] == 'Learn to sail' and 'Vary' not in res.headers
    for path in ['/static/browsable.js', '/openapi.json', '/nowhere']:
        res = user.get(path, headers={'Accept': BROWSER}, expect_errors=True)
        assert res.content_type != 'text/html' and 'Vary' not in res.headers


def test_the_script_and_stylesheet_are_served(client):
    script = client.get('/static/browsable.js', status=200)
    assert 'javascript' in script.content_type
    assert client.get('/static/app.css', status=200).content_type == 'text/css'


def test_the_script_never_turns_text_into_markup():
    script = (STATIC / 'browsable.js').read_text()
    for sink in ['innerHTML', 'outerHTML', 'insertAdjacentHTML', 'document.write', 'eval(',
                 'new Function', 'setAttribute(']:
        assert sink not in script
