"""The OpenAPI document is true: it lists exactly the app's routes, is valid OpenAPI 3.1, is served
with its /docs page, and every answer the functional tests get is one it documents
(``assert_documented``, run on every WebTest response by the clients of conftest.py)."""
import json
import re
import shutil
import subprocess
from html.parser import HTMLParser

import jsonschema
import pytest
from bottle import HTTPError
from helpers import new_list
from schemathesis.specs.openapi.definitions import OPENAPI_31

import bucketlist
import fields
import openapi

# --- The check run on every response of the functional tests --------------------------------------

def openapi_path(rule):
    """A Bottle route rule as an OpenAPI path: <bucketlist_id:id> becomes {bucketlist_id}."""
    return re.sub(r'<(\w+)(?::[^>]*)?>', r'{\1}', rule)


def media_type_matches(media_type, documented):
    """Whether ``media_type`` is the documented one, or within a documented range (text/*, */*)."""
    kind = media_type.split('/')[0]
    return documented in (media_type, f'{kind}/*', '*/*')


def assert_documented(method, path, res):
    """``res``, the answer to ``method path``, has a status, headers and body its operation documents.

    Requests that no operation matches must get a problem document: the router's 404 or 405, or
    400 for a header that is not UTF-8 (refused before routing).
    """
    if method == 'OPTIONS':  # the CORS preflight is answered before routing, by no operation
        return
    try:
        route, _ = bucketlist.app.router.match({'PATH_INFO': path, 'REQUEST_METHOD': method})
    except HTTPError:
        assert res.status_int in (400, 404, 405), f'{method} {path}: undocumented {res.status}'
        if res.body:
            validate_json(res, openapi.SCHEMAS['Problem'])
        return
    if route.config.get('page'):  # for people, not in the document: its errors are problems still
        assert res.status_int < 400 or validate_json(res, openapi.SCHEMAS['Problem']) is None
        return
    if res.content_type == 'text/html' and 'text/html' in res.request.headers.get('Accept', ''):
        return  # the browsable API's page, which the document describes in prose
    label = f'{route.method} {openapi_path(route.rule)}'
    operation = openapi.DOCUMENT['paths'][openapi_path(route.rule)][route.method.lower()]
    answer = operation['responses'].get(str(res.status_int))
    assert answer, f'{label} answered {res.status}, which its operation does not document'
    answer = openapi.resolve(answer)
    for name, header in answer.get('headers', {}).items():
        assert not openapi.resolve(header).get('required') or name in res.headers, \
            f'{label} answered {res.status} without its {name} header'
    content = answer.get('content', {})
    if method == 'HEAD' or not res.body:
        assert method == 'HEAD' or not content, f'{label} answered {res.status} without its body'
        return
    media = [media for documented, media in content.items()
             if media_type_matches(res.content_type, documented)]
    assert media, f'{label} answered {res.status} as {res.content_type}, not one of {list(content)}'
    if res.content_type.endswith('json'):
        validate_json(res, media[0]['schema'])


def validator(schema):
    """A validator for a schema of the document, with the document's components put alongside,
    where its #/components/... references point."""
    return jsonschema.Draft202012Validator({**schema, 'components': openapi.DOCUMENT['components']})


def validate_json(res, schema):
    errors = [f'{"/".join(map(str, error.absolute_path))}: {error.message}'
              for error in validator(schema).iter_errors(res.json)]
    assert not errors, f'the body breaks its documented schema: {errors} in {res.text[:500]}'


# --- The document lists exactly the routes -------------------------------------------------------

def documented_routes():
    """The routes clients call: all but the pages for people (the docs, static files…)."""
    return [route for route in bucketlist.app.routes if not route.config.get('page')]


def test_every_route_is_documented_and_every_operation_is_a_route():
    routes = {(route.method.lower(), openapi_path(route.rule)) for route in documented_routes()}
    operations = {(method, path) for path, method, _ in openapi.operations()}
    assert routes == operations
    assert all(method in openapi.METHODS for method, _ in routes)


def test_path_parameters_are_those_of_the_route():
    for route in documented_routes():
        operation = openapi.DOCUMENT['paths'][openapi_path(route.rule)][route.method.lower()]
        parameters = {openapi.resolve(p)['name'] for p in operation.get('parameters', [])
                      if openapi.resolve(p)['in'] == 'path'}
        assert parameters == set(re.findall(r'<(\w+)', route.rule)), route.rule


def test_public_routes_are_those_without_a_token():
    for route in documented_routes():
        operation = openapi.DOCUMENT['paths'][openapi_path(route.rule)][route.method.lower()]
        public = route.config.get('public', False)
        # (/metrics takes a token of its own, the metrics token, and no account's)
        assert (operation.get('security') in ([], [{'metricsToken': []}])) is public, route.rule
        assert public or operation['responses']['401'] == {'$ref': '#/components/responses/Unauthorized'}


# --- The document is valid OpenAPI 3.1 ----------------------------------------------------------

def test_the_document_is_valid_openapi_3_1():
    # As served: JSON, so tuples and the like would show up here.
    document = json.loads(json.dumps(openapi.DOCUMENT))
    jsonschema.Draft202012Validator(OPENAPI_31).validate(document)


def all_schemas(node):
    """Every JSON Schema in the document: what sits under a 'schema' key or in components.schemas."""
    if isinstance(node, dict):
        for key, value in node.items():
            if key == 'schema':
                yield value
            elif key == 'schemas':
                yield from value.values()
            else:
                yield from all_schemas(value)
    elif isinstance(node, list):
        for value in node:
            yield from all_schemas(value)


def test_every_schema_is_valid_json_schema_2020_12_and_every_reference_resolves():
    schemas = list(all_schemas(openapi.DOCUMENT))
    assert len(schemas) > 30
    for schema in schemas:
        jsonschema.Draft202012Validator.check_schema(schema)
    references = re.findall(r'"\$ref": "([^"]+)"', json.dumps(openapi.DOCUMENT))
    for reference in references:
        assert openapi.resolve({'$ref': reference}), reference


def test_examples_match_their_schemas():
    for _path, _method, operation in openapi.operations():
        bodies = [operation.get('requestBody', {}), *map(openapi.resolve, operation['responses'].values())]
        for body in bodies:
            for media in body.get('content', {}).values():
                if 'example' in media:
                    validator(media['schema']).validate(media['example'])
                for example in media.get('examples', {}).values():
                    validator(media['schema']).validate(example['value'])
    for schema in openapi.SCHEMAS.values():
        for example in schema.get('examples', []):
            validator(schema).validate(example)
    for parameter in openapi.PARAMETERS.values():
        if 'example' in parameter:
            validator(parameter['schema']).validate(parameter['example'])


@pytest.mark.parametrize('name, valid', [
    ('Go to Borabora', True), ('  Trimmed \n', True), ('x' * 255, True), (' ' + 'é' * 255 + '\t', True),
    ('a\u3000b', True), ('', False), ('   ', False), ('\u2003\x1c', False), ('x' * 256, False),
    ('a\x00b', False), ('\x00', False),
])
def test_the_name_pattern_is_the_apps_rule(name, valid):
    try:
        fields.clean_name(name)
        accepted = True
    except ValueError:
        accepted = False
    assert accepted is valid
    assert bool(re.search(openapi.NAME_PATTERN, name)) is valid


@pytest.mark.parametrize('email, valid', [
    ('ada@example.com', True), ('josé@exämple.com', True), ('ada@example', False), ('a da@example.com', False),
    ('ada\u200b@example.com', False), ('ada\x7f@example.com', False), ('ada\U000e0051@example.com', False),
    ('ada\U000e0001@example.com', False), ('ada\U0001d173@example.com', False), ('ada\U0001f3f4@example.com', True),
])
def test_the_email_pattern_is_the_apps_rule(email, valid):
    """Tag characters (U+E0000 on) are invisible formats too: schemathesis registered one as a
    documented-valid address the service refused."""
    assert fields.is_email(email) is valid
    assert bool(re.search(openapi.EMAIL_PATTERN, email)) is valid


# --- Served: /openapi.json and /docs ---------------------------------------------------------------

def test_the_document_is_served(client):
    res = client.get('/openapi.json', status=200)
    assert res.content_type == 'application/json'
    assert res.json == json.loads(json.dumps(openapi.DOCUMENT))


class PageAssets(HTMLParser):
    """The scripts and style sheets an HTML page loads; fails on inline style or script."""

    def __init__(self):
        super().__init__()
        self.scripts, self.stylesheets, self.in_script = [], [], False

    def handle_starttag(self, tag, attrs):
        attrs = dict(attrs)
        assert tag != 'style' and 'style' not in attrs
        assert not any(name.startswith('on') for name in attrs)
        if tag == 'script':
            self.scripts.append(attrs['src'])  # no src: an inline script, refused by the CSP
            self.in_script = True
        if tag == 'link' and attrs.get('rel') == 'stylesheet':
            self.stylesheets.append(attrs['href'])

    def handle_endtag(self, tag):
        self.in_script = self.in_script and tag != 'script'

    def handle_data(self, data):
        assert not (self.in_script and data.strip()), 'inline script'


def test_the_docs_page_is_swagger_ui_served_by_the_app(client):
    res = client.get('/docs', status=200)
    assert res.content_type == 'text/html' and res.charset == 'utf-8'
    page = PageAssets()
    page.feed(res.text)
    assert page.scripts == ['/docs/swagger-ui-bundle.js', '/static/docs.js']
    assert page.stylesheets == ['/docs/swagger-ui.css', '/static/docs.css']
    for asset in page.scripts + page.stylesheets:
        served = client.get(asset, status=200)
        assert served.content_type in ('text/css', 'application/javascript', 'text/javascript')
    assert 'SwaggerUIBundle' in client.get('/docs/swagger-ui-bundle.js').text
    assert "url: '/openapi.json'" in client.get('/static/docs.js').text
    assert not re.search(r'(src|href)="(https?:)?//', res.text)


def test_the_docs_page_runs_under_a_strict_content_security_policy(client):
    policy = dict(directive.strip().split(' ', 1)
                  for directive in client.get('/docs').headers['Content-Security-Policy'].split(';'))
    assert policy['default-src'] == "'none'"
    assert policy['script-src'] == "'self'"  # no inline script, no eval
    assert policy['connect-src'] == "'self'"
    assert policy['frame-ancestors'] == "'none'"


def test_swagger_ui_files_stay_in_their_folder(client):
    for path in ['/docs/../../../../../etc/passwd', '/docs/%2e%2e/%2e%2e/%2e%2e/%2e%2e/etc/passwd']:
        res = client.get(path, expect_errors=True)
        assert res.status_int in (403, 404) and 'root:' not in res.text


def test_only_the_files_the_docs_page_loads_are_served(client):
    client.get('/docs/swagger-ui-bundle.js', status=200)
    for name in ['oauth2-redirect.html', 'swagger-ui-bundle.js.map', 'swagger-editor-bundle.js']:
        client.get(f'/docs/{name}', status=404)


# --- The check on every functional test's responses can fail ---------------------------------------

# Each changes the document, not the app: the app answers as it always does, and is caught.

def test_an_undocumented_status_is_caught(user, monkeypatch):
    monkeypatch.delitem(openapi.DOCUMENT['paths']['/bucketlists/{bucketlist_id}']['get']['responses'], '404')
    with pytest.raises(AssertionError, match='does not document'):
        user.get('/bucketlists/1', status=404)


def test_a_body_that_breaks_its_schema_is_caught(user, monkeypatch):
    trip, _ = new_list(user)
    monkeypatch.setitem(openapi.SCHEMAS['BucketlistWithItems']['properties'], 'name', {'type': 'integer'})
    with pytest.raises(AssertionError, match='breaks its documented schema'):
        user.get(f'/bucketlists/{trip["id"]}', status=200)


def test_a_missing_required_header_is_caught(user, monkeypatch):
    retry_after = {'$ref': '#/components/headers/Retry-After'}
    monkeypatch.setitem(openapi.RESPONSES['NotFound']['headers'], 'Retry-After', retry_after)
    with pytest.raises(AssertionError, match='without its Retry-After header'):
        user.get('/bucketlists/1', status=404)


def test_an_undocumented_media_type_is_caught(client, monkeypatch):
    page = openapi.DOCUMENT['paths']['/livez']['get']['responses']['200']
    monkeypatch.setitem(page, 'content', {'text/plain': {'schema': {'type': 'string'}}})
    with pytest.raises(AssertionError, match='not one of'):
        client.get('/livez', status=200)


def test_every_pattern_reads_the_same_as_a_javascript_u_regex():
    """Generated web clients check patterns with JavaScript's RegExp (the u flag, as JSON Schema
    says): each must compile there and match as Python's re does."""
    node = shutil.which('node')
    if node is None:
        pytest.skip('node is absent: install Node.js to compare the patterns')
    samples = ['ada@example.com', 'josé@exämple.com', 'ada@example', 'a da@example.com', 'ada\u200b@example.com',
               'ada\U000e0051@example.com', 'ada\U0001f3f4@example.com', 'Go to Borabora', ' x ', '', 'a\x00b',
               '2027-03-01', '0000-01-01', 'blt_' + 'x' * 43, 'c3a1f0e2-trip-1', '\u3000', 'x' * 256]
    patterns = sorted(set(re.findall(r'"pattern": ("(?:[^"\\]|\\.)*")', json.dumps(openapi.DOCUMENT))))
    patterns = [json.loads(pattern) for pattern in patterns]
    script = ('const [patterns, samples] = JSON.parse(require("fs").readFileSync(0, "utf8"));'
              'console.log(JSON.stringify(patterns.map(p => samples.map(s => new RegExp(p, "u").test(s)))));')
    ran = subprocess.run([node, '-e', script], input=json.dumps([patterns, samples]), capture_output=True,
                         text=True, check=True)
    for pattern, matches in zip(patterns, json.loads(ran.stdout), strict=True):
        assert matches == [bool(re.search(pattern, sample)) for sample in samples], pattern


def test_every_operation_says_what_it_does_under_a_name_generated_code_can_use():
    ids = []
    for path, method, operation in openapi.operations():
        assert operation['summary'] and operation['description'], f'{method} {path}'
        assert re.fullmatch('[a-z][A-Za-z]+', operation['operationId']), operation['operationId']
        ids.append(operation['operationId'])
        # JSON only: a client generator makes one type per body and per answer.
        body = operation.get('requestBody', {}).get('content', {})
        assert set(body) <= {'application/json'} and all('$ref' in media['schema'] for media in body.values())
    assert len(ids) == len(set(ids)) and 'sync' not in ids  # (a generated module `sync` has a function sync)
    assert openapi.DOCUMENT['servers'] == [{'url': '/', 'description': 'The service that serves this document.'}]
